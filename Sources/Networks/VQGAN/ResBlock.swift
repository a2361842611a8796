package import TensorCore

/// VQGAN residual block (`ResBlock` in sczhou/CodeFormer `basicsr/archs/vqgan_arch.py`):
/// `conv2(swish(norm2(conv1(swish(norm1(x)))))) + skip(x)`, the skip a 1x1 conv only when the
/// channel count changes.
package struct ResBlock {
    package let norm1: GroupNorm
    package let conv1: Conv2d
    package let norm2: GroupNorm
    package let conv2: Conv2d
    package let convOut: Conv2d?

    package static let groupNormEpsilon = 1e-6

    package init(_ p: ParameterScope, algorithm: ConvAlgorithm = .direct) throws {
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

    package var inChannels: Int { conv1.inChannels }
    package var outChannels: Int { conv2.outChannels }

    /// Maps that are this block's alone are overwritten instead of copied: conv1's output always,
    /// the input when the caller hands over its only handle and the skip is projected (the largest
    /// map of CodeFormer's last level: 128 MB). A projected skip is a new map of our own too: the
    /// sum goes straight into it.
    package func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        var h: Tensor
        if let convOut {
            let skip = try convOut(x)
            // Normalised in place when the caller handed over its only handle, else into a new map.
            try norm1.normalize(&x, activation: .swish)
            h = try conv1(consume x)
            try norm2.normalize(&h, activation: .swish)
            return try conv2.accumulating(h, into: consume skip)
        }
        h = try conv1(norm1(x, activation: .swish))
        try norm2.normalize(&h, activation: .swish)
        return try conv2(h, residual: x)
    }
}
