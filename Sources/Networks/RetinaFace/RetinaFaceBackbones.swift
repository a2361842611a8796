import TensorCore

/// torchvision's ResNet bottleneck (v1.5: the stride sits in the 3x3 conv), BatchNorms folded:
/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + downsample(x))`.
struct RetinaFaceBottleneck {
    let conv1: Conv2d
    let conv2: Conv2d
    let conv3: Conv2d
    let downsample: Conv2d?

    init(_ p: ParameterScope, inChannels: Int, stride: Int, algorithm: ConvAlgorithm) throws {
        let width = try p.shape(of: "conv1.weight")[0]
        conv1 = try p.convBatchNorm(conv: "conv1", bn: "bn1", inChannels: inChannels, kernel: 1, padding: 0, algorithm: algorithm)
        conv2 = try p.convBatchNorm(conv: "conv2", bn: "bn2", inChannels: width, outChannels: width, kernel: 3,
                                    stride: stride, padding: 1, algorithm: algorithm)
        conv3 = try p.convBatchNorm(conv: "conv3", bn: "bn3", inChannels: width, outChannels: width * 4, kernel: 1,
                                    padding: 0, algorithm: algorithm)
        downsample = p.contains("downsample.0.weight")
            ? try p.convBatchNorm(conv: "downsample.0", bn: "downsample.1", inChannels: inChannels, outChannels: width * 4,
                                  kernel: 1, stride: stride, padding: 0, algorithm: algorithm)
            : nil
    }

    var outChannels: Int { conv3.outChannels }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let identity = try downsample.map { try $0(x) } ?? x
        var out = try conv3(conv2(conv1(x, activation: .relu), activation: .relu), residual: identity)
        try out.apply(.relu)
        return out
    }
}

/// torchvision `resnet50` up to layer4 (`body.conv1`, `body.bn1`, `body.layer1..4`), returning the
/// outputs of layer2, layer3 and layer4 (strides 8, 16, 32).
struct RetinaFaceResNet {
    let stem: Conv2d
    let layers: [[RetinaFaceBottleneck]]

    init(_ p: ParameterScope, algorithm: ConvAlgorithm) throws {
        stem = try p.convBatchNorm(conv: "conv1", bn: "bn1", inChannels: 3, kernel: 7, stride: 2, padding: 3, algorithm: algorithm)
        var channels = stem.outChannels
        var layers: [[RetinaFaceBottleneck]] = []
        for layer in 1...4 {
            var blocks: [RetinaFaceBottleneck] = []
            var index = 0
            while p.contains("layer\(layer).\(index).conv1.weight") {
                let block = try RetinaFaceBottleneck(
                    p.scope("layer\(layer).\(index)."), inChannels: channels,
                    stride: layer > 1 && index == 0 ? 2 : 1, algorithm: algorithm)
                channels = block.outChannels
                blocks.append(block)
                index += 1
            }
            guard !blocks.isEmpty else {
                throw ModelLoadingError.missingKey(file: p.source, key: p.prefix + "layer\(layer).0.conv1.weight")
            }
            layers.append(blocks)
        }
        self.layers = layers
    }

    var outChannels: [Int] { layers[1...3].map { $0.last!.outChannels } }

    func callAsFunction(_ x: Tensor) throws -> [Tensor] {
        var h = try stem(x, activation: .relu).maxPooled(kernel: 3, stride: 2, padding: 1)
        var features: [Tensor] = []
        for (i, layer) in layers.enumerated() {
            for block in layer { h = try block(h) }
            if i >= 1 { features.append(h) }
        }
        return features
    }
}

/// RetinaFace's `MobileNetV1` (width 0.25): `stage1` = conv_bn(3->8, /2) + 5 depthwise-separable
/// blocks, `stage2` = 6 blocks, `stage3` = 2 blocks; every activation LeakyReLU(0.1). Returns the
/// three stage outputs (strides 8, 16, 32).
struct RetinaFaceMobileNet {
    /// Official strides of every block, per stage (index 0 of stage1 is the plain conv_bn).
    static let strides: [[Int]] = [[2, 1, 2, 1, 2, 1], [2, 1, 1, 1, 1, 1], [2, 1]]
    static let activation = FusedActivation.leakyReLU(0.1)

    /// Per stage, the convolutions in order (a depthwise-separable block contributes two).
    let stages: [[Conv2d]]

    init(_ p: ParameterScope, algorithm: ConvAlgorithm) throws {
        var channels = 3
        var stages: [[Conv2d]] = []
        for (s, strides) in Self.strides.enumerated() {
            var convs: [Conv2d] = []
            for (b, stride) in strides.enumerated() {
                let block = "stage\(s + 1).\(b)."
                if s == 0 && b == 0 {
                    let conv = try p.convBatchNorm(conv: block + "0", bn: block + "1", inChannels: channels, kernel: 3,
                                                   stride: stride, padding: 1, algorithm: algorithm)
                    convs.append(conv)
                    channels = conv.outChannels
                } else {
                    convs.append(try p.convBatchNorm(conv: block + "0", bn: block + "1", inChannels: channels, outChannels: channels,
                                                     kernel: 3, stride: stride, padding: 1, depthwise: true, algorithm: algorithm))
                    let pointwise = try p.convBatchNorm(conv: block + "3", bn: block + "4", inChannels: channels, kernel: 1,
                                                        padding: 0, algorithm: algorithm)
                    convs.append(pointwise)
                    channels = pointwise.outChannels
                }
            }
            stages.append(convs)
        }
        self.stages = stages
    }

    var outChannels: [Int] { stages.map { $0.last!.outChannels } }

    func callAsFunction(_ x: Tensor) throws -> [Tensor] {
        var h = x
        var features: [Tensor] = []
        for stage in stages {
            for conv in stage { h = try conv(h, activation: Self.activation) }
            features.append(h)
        }
        return features
    }
}
