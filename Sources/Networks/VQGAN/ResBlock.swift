import TensorCore

/// VQGAN residual block (`ResBlock` in sczhou/CodeFormer `basicsr/archs/vqgan_arch.py`):
/// `conv2(swish(norm2(conv1(swish(norm1(x)))))) + skip(x)`, the skip a 1x1 conv only when the
/// channel count changes.
public struct ResBlock {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let convOut: Conv2d?

    public static let groupNormEpsilon = 1e-6

    public init(_ p: ParameterScope, algorithm: ConvAlgorithm = .direct) throws {
        let shape = try p.shape(of: "conv1.weight")
        let (inChannels, outChannels) = (shape[1], shape[0])
        norm1 = try p.groupNorm("norm1", channels: inChannels, epsilon: Self.groupNormEpsilon)
        conv1 = try p.conv("conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: .symmetric(1), algorithm: algorithm)
        norm2 = try p.groupNorm("norm2", channels: outChannels, epsilon: Self.groupNormEpsilon)
        conv2 = try p.conv("conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3, padding: .symmetric(1), algorithm: algorithm)
        if inChannels != outChannels {
            convOut = try p.conv("conv_out", inChannels: inChannels, outChannels: outChannels, kernel: 1, padding: .symmetric(0), algorithm: algorithm)
        } else {
            if p.contains("conv_out.weight") {
                throw ModelLoadingError.unsupportedArchitecture(file: p.source, reason: "\(p.prefix)conv_out present although channels stay \(inChannels)")
            }
            convOut = nil
        }
    }

    public var inChannels: Int { conv1.inChannels }
    public var outChannels: Int { conv2.outChannels }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv1(norm1(x, activation: .swish))
        // A projected skip is a new map of our own: the sum goes straight into it.
        if let convOut { return conv2.accumulating(norm2(h, activation: .swish), into: convOut(x)) }
        return conv2(norm2(h, activation: .swish), residual: x)
    }
}
