package import TensorCore

/// VQGAN `Downsample`: zero-pad one pixel on the right and bottom only, then a 3x3 stride-2 conv.
package struct Downsample {
    package let conv: Conv2d

    package init(_ p: ParameterScope, algorithm: ConvAlgorithm = .direct) throws {
        conv = try p.conv("conv", kernel: 3, stride: 2, padding: ConvPadding(top: 0, left: 0, bottom: 1, right: 1), algorithm: algorithm)
    }

    package func callAsFunction(_ x: Tensor) throws -> Tensor { try conv(x) }
}

/// VQGAN `Upsample`: nearest-neighbour x2, then a 3x3 conv.
package struct Upsample {
    package let conv: Conv2d

    package init(_ p: ParameterScope, algorithm: ConvAlgorithm = .direct) throws {
        conv = try p.conv("conv", kernel: 3, padding: .symmetric(1), algorithm: algorithm)
    }

    /// A caller handing over its only handle to `x` frees it before the convolution's output is made.
    package func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        let upsampled = try x.upsampledNearest(factor: 2)
        _ = consume x
        return try conv(upsampled)
    }
}
