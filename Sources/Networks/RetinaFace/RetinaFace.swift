import Foundation
package import TensorCore

/// RetinaFace's `FPN`: 1x1 conv+BN+act lateral outputs to `C` channels, then top-down: level 3
/// resized (legacy nearest) to level 2 and added, `merge2`; that resized to level 1 and added,
/// `merge1`. The top level gets no merge conv.
struct RetinaFaceFPN {
    let outputs: [Conv2d]
    let merge1: Conv2d
    let merge2: Conv2d
    let activation: FusedActivation

    init(_ p: ParameterScope, inChannels: [Int], activation: FusedActivation, algorithm: ConvAlgorithm) throws {
        outputs = try (0..<3).map {
            try p.convBatchNorm(conv: "output\($0 + 1).0", bn: "output\($0 + 1).1", inChannels: inChannels[$0], kernel: 1,
                                padding: 0, algorithm: algorithm)
        }
        let c = outputs[0].outChannels
        merge1 = try p.convBatchNorm(conv: "merge1.0", bn: "merge1.1", inChannels: c, outChannels: c, kernel: 3, padding: 1, algorithm: algorithm)
        merge2 = try p.convBatchNorm(conv: "merge2.0", bn: "merge2.1", inChannels: c, outChannels: c, kernel: 3, padding: 1, algorithm: algorithm)
        self.activation = activation
    }

    func callAsFunction(_ features: [Tensor]) throws -> [Tensor] {
        let o1 = try outputs[0](features[0], activation: activation)
        var o2 = try outputs[1](features[1], activation: activation)
        let o3 = try outputs[2](features[2], activation: activation)
        o2 = try merge2(o2 + o3.resizedNearest(height: o2.shape[2], width: o2.shape[3]), activation: activation)
        let m1 = try merge1(o1 + o2.resizedNearest(height: o1.shape[2], width: o1.shape[3]), activation: activation)
        return [m1, o2, o3]
    }
}

/// RetinaFace's `SSH` context module: `relu(cat[conv3X3(x), conv5X5_2(b1), conv7x7_3(conv7X7_2(b1))])`
/// with `b1 = act(conv5X5_1(x))`; every conv 3x3 + BN. The final ReLU distributes over the concat, so
/// it is fused into the three branch convs.
struct RetinaFaceSSH {
    let conv3X3: Conv2d
    let conv5X5_1: Conv2d
    let conv5X5_2: Conv2d
    let conv7X7_2: Conv2d
    let conv7x7_3: Conv2d
    let activation: FusedActivation

    init(_ p: ParameterScope, channels c: Int, activation: FusedActivation, algorithm: ConvAlgorithm) throws {
        func cbn(_ name: String, _ cin: Int, _ cout: Int) throws -> Conv2d {
            try p.convBatchNorm(conv: name + ".0", bn: name + ".1", inChannels: cin, outChannels: cout, kernel: 3, padding: 1, algorithm: algorithm)
        }
        conv3X3 = try cbn("conv3X3", c, c / 2)
        conv5X5_1 = try cbn("conv5X5_1", c, c / 4)
        conv5X5_2 = try cbn("conv5X5_2", c / 4, c / 4)
        conv7X7_2 = try cbn("conv7X7_2", c / 4, c / 4)
        conv7x7_3 = try cbn("conv7x7_3", c / 4, c / 4)
        self.activation = activation
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let a = try conv3X3(x, activation: .relu)
        let b1 = try conv5X5_1(x, activation: activation)
        let b = try conv5X5_2(b1, activation: .relu)
        let c = try conv7x7_3(conv7X7_2(b1, activation: activation), activation: .relu)
        return try Tensor.concatenateChannels([a, b, c])
    }
}

/// RetinaFace (`facelib/detection/retinaface/retinaface.py`, phase 'test') with a ResNet-50 or a
/// MobileNet-0.25 backbone, chosen from the state-dict keys. BatchNorms are folded into the convs at
/// load time.
///
/// Output: per anchor (order level /8, /16, /32; row; column; anchor 0-1) the raw box offsets
/// `(1, N, 4)`, the class logits `(1, N, 2)` (index 1 = face; `softmax` gives the official `conf`)
/// and the landmark offsets `(1, N, 10)`.
package final class RetinaFace: @unchecked Sendable {
    package enum Backbone: String, Sendable {
        case resnet50
        case mobileNet025
    }

    package static let anchorsPerCell = 2
    package let backbone: Backbone
    private let resnet: RetinaFaceResNet?
    private let mobileNet: RetinaFaceMobileNet?
    private let fpn: RetinaFaceFPN
    private let ssh: [RetinaFaceSSH]
    /// Per level, the three heads' 1x1 convs stacked into one: box (8), class (4), landmarks (20).
    private let heads: [Conv2d]

    /// - Parameter algorithm: `.direct` (oneDNN) or `.gemm` for every convolution.
    package init(_ store: ParameterStore, algorithm: ConvAlgorithm = .direct) throws {
        let p = store.scope("")
        let body = p.scope("body.")
        let inChannels: [Int]
        if body.contains("conv1.weight") {
            backbone = .resnet50
            let net = try RetinaFaceResNet(body, algorithm: algorithm)
            (resnet, mobileNet, inChannels) = (net, nil, net.outChannels)
        } else if body.contains("stage1.0.0.weight") {
            backbone = .mobileNet025
            let net = try RetinaFaceMobileNet(body, algorithm: algorithm)
            (resnet, mobileNet, inChannels) = (nil, net, net.outChannels)
        } else {
            throw ModelLoadingError.unsupportedArchitecture(
                file: store.source, reason: "neither body.conv1.weight (ResNet-50) nor body.stage1.0.0.weight (MobileNet-0.25) found")
        }
        let outChannels = try p.shape(of: "fpn.output1.0.weight")[0]
        // FPN and SSH: LeakyReLU(0.1) when out_channels <= 64, else slope 0 (ReLU).
        let activation: FusedActivation = outChannels <= 64 ? .leakyReLU(0.1) : .relu
        fpn = try RetinaFaceFPN(p.scope("fpn."), inChannels: inChannels, activation: activation, algorithm: algorithm)
        ssh = try (1...3).map { try RetinaFaceSSH(p.scope("ssh\($0)."), channels: outChannels, activation: activation, algorithm: algorithm) }
        let a = Self.anchorsPerCell
        heads = try (0..<3).map { level in
            var weights: [Float] = [], biases: [Float] = []
            for (name, k) in [("BboxHead", 4), ("ClassHead", 2), ("LandmarkHead", 10)] {
                let head = p.scope("\(name).\(level).conv1x1.")
                weights += try head.tensor("weight", shape: [a * k, outChannels, 1, 1]).toArray()
                biases += try head.tensor("bias", shape: [a * k]).toArray()
            }
            return try Conv2d(weight: Tensor(shape: [biases.count, outChannels, 1, 1], values: weights),
                          bias: Tensor(shape: [biases.count], values: biases), padding: 0, algorithm: algorithm)
        }
    }

    /// `(1, 3, H, W)` BGR minus (104, 117, 123) -> raw head outputs.
    package func callAsFunction(_ input: Tensor) throws -> (loc: Tensor, confidenceLogits: Tensor, landmarks: Tensor) {
        precondition(input.rank == 4 && input.shape[0] == 1 && input.shape[1] == 3, "RetinaFace expects (1, 3, h, w), got \(input.shape)")
        let features = try resnet.map { try $0(input) } ?? mobileNet!(input)
        let pyramid = try fpn(features)
        let maps = try (0..<3).map { try heads[$0](ssh[$0](pyramid[$0])).contiguous() }
        let a = Self.anchorsPerCell
        let cells = maps.map { $0.shape[2] * $0.shape[3] }
        let anchors = cells.reduce(0, +) * a
        let loc = try Tensor(uninitialized: [1, anchors, 4])
        let conf = try Tensor(uninitialized: [1, anchors, 2])
        let landmarks = try Tensor(uninitialized: [1, anchors, 10])
        var cellOffset = 0
        for (level, map) in maps.enumerated() {
            let count = cells[level]
            // NCHW -> NHWC: output element (cell, channel) for channel ranges [0,8) [8,12) [12,32).
            for (target, start, width) in [(loc, 0, 4 * a), (conf, 4 * a, 2 * a), (landmarks, 6 * a, 10 * a)] {
                let dst = target.data + cellOffset * width
                parallelFor(width) { c in
                    let plane = map.data + (start + c) * count
                    for i in 0..<count { dst[i * width + c] = plane[i] }
                }
            }
            cellOffset += count
        }
        return (loc, conf, landmarks)
    }

    /// Softmax over the last dimension (`F.softmax(conf, dim=-1)`), float32.
    package static func softmax(_ logits: Tensor) throws -> Tensor {
        let input = try logits.contiguous()
        let k = input.shape.last!
        let out = try Tensor(uninitialized: input.shape)
        for row in 0..<(input.elementCount / k) {
            let x = input.data + row * k, y = out.data + row * k
            var m = x[0]
            for j in 1..<k { m = max(m, x[j]) }
            var sum: Float = 0
            for j in 0..<k { y[j] = expf(x[j] - m); sum += y[j] }
            for j in 0..<k { y[j] /= sum }
        }
        return out
    }
}

extension RetinaFace: LoadableNetwork {
    /// oneDNN's direct kernels (bfloat16 where asked for and the CPU has them).
    package static func convolutionAlgorithm(for precision: ComputePrecision) -> ConvAlgorithm {
        precision.convolutionAlgorithm(.direct)
    }

    /// `detection_Resnet50_Final.pth` / `detection_mobilenet0.25_Final.pth` as released (either
    /// torch format, keys with DataParallel's `module.`), or any file of the same layout.
    package convenience init(_ parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile?) throws {
        try self.init(parameters, algorithm: algorithm)
    }
}
