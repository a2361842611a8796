package import TensorCore

/// Resampling of a ParseNet `ConvLayer` / `ResidualBlock` (`scale` in sczhou/CodeFormer
/// `facelib/parsing/parsenet.py`).
package enum ParseNetScale: Sendable {
    case none
    /// Stride-2 convolution.
    case down
    /// Nearest x2 upsampling before the padding.
    case up
}

/// `ConvLayer` of sczhou/CodeFormer `facelib/parsing/parsenet.py`: [nearest x2 if up] ->
/// ReflectionPad2d(1) -> 3x3 conv (stride 2 if down; bias only without BN) -> [BatchNorm, eval] ->
/// [LeakyReLU(0.2)]. The BatchNorm is folded into the convolution at load time (Float64 math).
package struct ParseNetConvLayer {
    package let conv2d: Conv2d
    package let scale: ParseNetScale
    package let activation: FusedActivation

    static let negativeSlope: Float = 0.2

    /// - Parameters:
    ///   - p: the layer's scope (`encoder.1.conv1.`); reads `conv2d.weight` and either `conv2d.bias`
    ///     or `norm.norm.{weight,bias,running_mean,running_var,num_batches_tracked}`.
    ///   - normalized: `norm_type='bn'` (else no BN and a conv bias).
    ///   - activated: `relu_type='LeakyReLU'`.
    package init(
        _ p: ParameterScope, inChannels: Int, outChannels: Int, scale: ParseNetScale,
        normalized: Bool, activated: Bool, algorithm: ConvAlgorithm
    ) throws {
        let stride = scale == .down ? 2 : 1
        let weight = try p.tensor("conv2d.weight", shape: [outChannels, inChannels, 3, 3])
        if normalized {
            let (w, b) = try p.foldingBatchNorm("norm.norm", into: weight)
            conv2d = try Conv2d(weight: w, bias: b, stride: stride, padding: .symmetric(0), algorithm: algorithm)
        } else {
            let bias = try p.tensor("conv2d.bias", shape: [outChannels])
            conv2d = try Conv2d(weight: weight, bias: bias, stride: stride, padding: .symmetric(0), algorithm: algorithm)
        }
        self.scale = scale
        activation = activated ? .leakyReLU(Self.negativeSlope) : .none
    }

    /// `residual + layer(x)` when `residual` is given (the sum fused into the convolution).
    package func callAsFunction(_ x: Tensor, residual: Tensor? = nil) throws -> Tensor {
        try conv2d(prepared(x), activation: activation, residual: residual)
    }

    /// `x` upsampled (for an up layer) and reflection-padded: what the convolution itself sees.
    func prepared(_ x: Tensor) throws -> Tensor {
        try (scale == .up ? x.upsampledNearest(factor: 2) : x).reflectionPadded(1)
    }

    /// The layer on an input already `prepared`.
    func applied(toPrepared input: Tensor) throws -> Tensor {
        try conv2d(input, activation: activation)
    }

    /// `residual + layer(x)`, written into `residual` when the caller hands over its only handle.
    func accumulating(_ x: Tensor, into residual: consuming Tensor) throws -> Tensor {
        precondition(activation == .none, "the residual sum comes after the activation-free conv2")
        return try conv2d.accumulating(prepared(x), into: consume residual)
    }
}

/// `ResidualBlock` of sczhou/CodeFormer `facelib/parsing/parsenet.py`:
/// `shortcut_func(x) + conv2(conv1(x))`; the shortcut is the identity for an unscaled block with
/// equal channels, else a plain ConvLayer (bias, no BN, no activation). conv1 has BN + LeakyReLU,
/// conv2 BN only; a down block strides in conv2, an up block upsamples in conv1.
package struct ParseNetResidualBlock {
    package let shortcutFunc: ParseNetConvLayer?
    package let conv1: ParseNetConvLayer
    package let conv2: ParseNetConvLayer

    package init(_ p: ParameterScope, inChannels: Int, outChannels: Int, scale: ParseNetScale, algorithm: ConvAlgorithm) throws {
        if scale == .none && inChannels == outChannels {
            shortcutFunc = nil
        } else {
            shortcutFunc = try ParseNetConvLayer(
                p.scope("shortcut_func."), inChannels: inChannels, outChannels: outChannels, scale: scale,
                normalized: false, activated: false, algorithm: algorithm)
        }
        conv1 = try ParseNetConvLayer(
            p.scope("conv1."), inChannels: inChannels, outChannels: outChannels, scale: scale == .up ? .up : .none,
            normalized: true, activated: true, algorithm: algorithm)
        conv2 = try ParseNetConvLayer(
            p.scope("conv2."), inChannels: outChannels, outChannels: outChannels, scale: scale == .down ? .down : .none,
            normalized: true, activated: false, algorithm: algorithm)
    }

    /// A caller handing over its only handle to `x` (`block(consume x)`) lets the block free it as
    /// soon as both branches have read it, before conv2 pads conv1's output (at 512 x 512 the
    /// block's largest maps).
    package func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        guard let shortcutFunc else { return try conv2(conv1(x), residual: x) }
        // Both branches of an up block upsample and pad the same input: do it once.
        if shortcutFunc.scale == .up && conv1.scale == .up {
            var input: Tensor? = try conv1.prepared(x)
            _ = consume x
            let shortcut = try shortcutFunc.applied(toPrepared: input!)
            let h = try conv1.applied(toPrepared: input!)
            input = nil
            return try conv2.accumulating(h, into: consume shortcut)
        }
        let shortcut = try shortcutFunc(x)
        return try conv2.accumulating(conv1(consume x), into: consume shortcut)
    }
}
