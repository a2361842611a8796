import Testing
import TensorCore
import TestSupport

/// A direct float64 convolution to check oneDNN's against.
func referenceConvolution(
    _ x: [Float], shape: [Int], weight: [Float], weightShape: [Int], bias: [Float]?,
    stride: Int, padding: ConvPadding
) -> (values: [Float], shape: [Int]) {
    let (c, h, w) = (shape[1], shape[2], shape[3])
    let (o, kh, kw) = (weightShape[0], weightShape[2], weightShape[3])
    let oh = (h + padding.top + padding.bottom - kh) / stride + 1
    let ow = (w + padding.left + padding.right - kw) / stride + 1
    var out = [Float](repeating: 0, count: o * oh * ow)
    for oc in 0..<o {
        for y in 0..<oh {
            for xo in 0..<ow {
                var sum = Double(bias?[oc] ?? 0)
                for ic in 0..<c {
                    for ky in 0..<kh {
                        let iy = y * stride + ky - padding.top
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = xo * stride + kx - padding.left
                            if ix < 0 || ix >= w { continue }
                            sum += Double(x[(ic * h + iy) * w + ix]) * Double(weight[((oc * c + ic) * kh + ky) * kw + kx])
                        }
                    }
                }
                out[(oc * oh + y) * ow + xo] = Float(sum)
            }
        }
    }
    return (out, [1, o, oh, ow])
}


@Suite struct ConvolutionTests {
    static let shapes: [(Int, Int, Int, Int, ConvPadding)] = [
        (3, 16, 3, 1, .symmetric(1)),                  // image input, contiguous
        (32, 16, 3, 1, .symmetric(1)),
        (32, 48, 3, 2, ConvPadding(top: 0, left: 0, bottom: 1, right: 1)),  // VQGAN Downsample
        (24, 16, 1, 1, .symmetric(0)),
        (16, 3, 3, 1, .symmetric(1)),                  // image output
        (8, 8, 3, 1, .symmetric(2)),                   // padding wider than the kernel reach
    ]

    @Test(arguments: shapes)
    func directMatchesReference(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvPadding) throws {
        try matchesReference(inChannels, outChannels, kernel, stride, padding, algorithm: .direct)
    }

    @Test(arguments: shapes)
    func im2colMatchesReference(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvPadding) throws {
        try matchesReference(inChannels, outChannels, kernel, stride, padding, algorithm: .gemm)
    }

    func matchesReference(_ inChannels: Int, _ outChannels: Int, _ kernel: Int, _ stride: Int, _ padding: ConvPadding, algorithm: ConvAlgorithm) throws {
        let shape = [1, inChannels, 11, 13]
        let x = randomValues(shape.reduce(1, *), seed: 1)
        let weightShape = [outChannels, inChannels, kernel, kernel]
        let weight = randomValues(weightShape.reduce(1, *), seed: 2, range: -0.2...0.2)
        let bias = randomValues(outChannels, seed: 3)
        let conv = try Conv2d(weight: try Tensor(shape: weightShape, values: weight), bias: try Tensor(shape: [outChannels], values: bias),
                          stride: stride, padding: padding, algorithm: algorithm)
        let out = try conv(try Tensor(shape: shape, values: x))
        let expected = referenceConvolution(x, shape: shape, weight: weight, weightShape: weightShape, bias: bias, stride: stride, padding: padding)
        #expect(out.shape == expected.shape)
        let closeness = Closeness(out.toArray(), expected.values, absolute: 1e-5, relative: 1e-5)
        #expect(closeness.isClose, "\(closeness)")
    }

    @Test(arguments: [ConvAlgorithm.direct, .gemm])
    func fusesActivationAndResidual(algorithm: ConvAlgorithm) throws {
        let shape = [1, 16, 9, 7]
        let x = randomValues(shape.reduce(1, *), seed: 4)
        let weight = randomValues(16 * 16 * 9, seed: 5, range: -0.2...0.2)
        let residual = randomValues(shape.reduce(1, *), seed: 6)
        let conv = try Conv2d(weight: try Tensor(shape: [16, 16, 3, 3], values: weight), bias: nil, padding: 1, algorithm: algorithm)
        let input = try Tensor(shape: shape, values: x)
        let plain = referenceConvolution(x, shape: shape, weight: weight, weightShape: [16, 16, 3, 3], bias: nil, stride: 1, padding: .symmetric(1)).values

        let leaky = try conv(input, activation: .leakyReLU(0.2)).toArray()
        #expect(Closeness(leaky, plain.map { $0 > 0 ? $0 : 0.2 * $0 }, absolute: 1e-5, relative: 1e-5).isClose)

        let summed = try conv(input, residual: try Tensor(shape: shape, values: residual)).toArray()
        #expect(Closeness(summed, zip(plain, residual).map { $0 + $1 }, absolute: 1e-5, relative: 1e-5).isClose)

        let scaled = try conv(input, residual: try Tensor(shape: shape, values: residual), residualScale: 0.5).toArray()
        #expect(Closeness(scaled, zip(plain, residual).map { $0 + 0.5 * $1 }, absolute: 1e-5, relative: 1e-5).isClose)
    }

    /// With nearly zero-sum 3x3 kernels (high-pass filters, the synthetic fixture weights), summing
    /// each channel's taps first keeps partial sums small: the im2col order must beat oneDNN's AVX2
    /// direct kernels (8-channel blocks), which sum taps outside and channels inside. (Its AVX-512
    /// kernels, used when the CPU has them, sum in an order as accurate as im2col's.)
    @Test(.enabled(if: Conv2d.activationBlock == 8))
    func im2colOrderIsMoreAccurateOnHighPassKernels() throws {
        let (c, h, w) = (64, 24, 24)
        let x = randomValues(c * h * w, seed: 30, range: 0...4)
        var weight = [Float](repeating: 0, count: c * c * 9)
        for o in 0..<c { for i in 0..<c {
            let taps = randomValues(9, seed: UInt64(o * c + i + 100), range: -0.2...0.2)
            let mean = taps.reduce(0, +) / 9
            for t in 0..<9 { weight[(o * c + i) * 9 + t] = taps[t] - mean + 0.002 }
        } }
        let expected = referenceConvolution(x, shape: [1, c, h, w], weight: weight, weightShape: [c, c, 3, 3], bias: nil, stride: 1, padding: .symmetric(1)).values
        func error(_ algorithm: ConvAlgorithm) throws -> Double {
            let conv = try Conv2d(weight: try Tensor(shape: [c, c, 3, 3], values: weight), bias: nil, padding: 1, algorithm: algorithm)
            return Closeness(try conv(try Tensor(shape: [1, c, h, w], values: x)).toArray(), expected, absolute: 1).meanAbs
        }
        let (direct, im2col) = (try error(.direct), try error(.gemm))
        #expect(im2col < direct, "im2col mean error \(im2col) vs direct \(direct)")
    }

    /// Winograd layers: the same results as the reference within float32 noise, on every shape a
    /// layer meets (its weight formats are per shape), with a fused activation or residual.
    @Test func winogradMatchesReferenceAcrossShapes() throws {
        let c = 32
        let weight = randomValues(c * c * 9, seed: 40, range: -0.2...0.2)
        let bias = randomValues(c, seed: 41)
        let conv = try Conv2d(weight: try Tensor(shape: [c, c, 3, 3], values: weight), bias: try Tensor(shape: [c], values: bias),
                          padding: 1, algorithm: .winograd)
        for (h, w) in [(64, 72), (20, 24), (80, 64)] {
            let shape = [1, c, h, w]
            let x = randomValues(shape.reduce(1, *), seed: UInt64(h * w))
            let residual = randomValues(shape.reduce(1, *), seed: UInt64(h * w + 1))
            let plain = referenceConvolution(x, shape: shape, weight: weight, weightShape: [c, c, 3, 3], bias: bias,
                                             stride: 1, padding: .symmetric(1)).values
            let input = try Tensor(shape: shape, values: x), extra = try Tensor(shape: shape, values: residual)
            let variants: [(String, Tensor, [Float])] = [
                ("plain", try conv(input), plain),
                ("residual", try conv(input, residual: extra), zip(plain, residual).map { $0 + $1 }),
                ("leaky", try conv(input, activation: .leakyReLU(0.2)), plain.map { $0 > 0 ? $0 : 0.2 * $0 }),
            ]
            for (name, out, expected) in variants {
                let closeness = Closeness(out.toArray(), expected, absolute: 5e-5, relative: 1e-4)
                #expect(closeness.isClose, "\(h)x\(w) \(name): \(closeness)")
            }
        }
    }

    /// Winograd layers whose whole-plane transform buffers would be too large run in blocks of
    /// output channels (128 -> 128) or of output and input channels (256 -> 64: partial sums, bias
    /// once, the activation after the last block or in a pass of its own); every fusion gives what
    /// the direct kernels give, within Winograd's rounding.
    @Test(.enabled(if: Conv2d.activationBlock == 16), arguments: [(128, 128, "2 x 1"), (256, 64, "1 x 2")])
    func winogradChannelBlocksMatchDirect(inChannels: Int, outChannels: Int, blocks: String) throws {
        let shape = [1, inChannels, 128, 128]
        let weight = try Tensor(shape: [outChannels, inChannels, 3, 3], values: randomValues(outChannels * inChannels * 9, seed: 60, range: -0.05...0.05))
        let bias = try Tensor(shape: [outChannels], values: randomValues(outChannels, seed: 61))
        let winograd = try Conv2d(weight: weight, bias: bias, padding: 1, algorithm: .winograd)
        let direct = try Conv2d(weight: weight, bias: bias, padding: 1, algorithm: .direct)
        let input = try Tensor(shape: shape, values: randomValues(shape.reduce(1, *), seed: 62))
        let residual = try Tensor(shape: [1, outChannels, 128, 128], values: randomValues(outChannels * 128 * 128, seed: 63))
        let cases: [(String, FusedActivation, Tensor?)] = [
            ("plain", .none, nil), ("residual", .none, residual), ("leaky", .leakyReLU(0.2), nil), ("relu", .relu, nil),
        ]
        for (name, activation, extra) in cases {
            let implementation = try winograd.implementation(forInputShape: shape, activation: activation, residual: extra != nil)
            #expect(implementation.contains("wino") && implementation.contains("in \(blocks) channel blocks"), "\(name): \(implementation)")
            let out = try winograd(input, activation: activation, residual: extra)
            let expected = try direct(input, activation: activation, residual: extra)
            let closeness = Closeness(out.toArray(), expected.toArray(), absolute: 1e-4, relative: 1e-4)
            #expect(closeness.isClose, "\(name) (\(implementation)): \(closeness)")
        }
    }

    /// A layer meeting more shapes than it keeps plans for builds the old ones again, with the same
    /// results (Winograd layers re-cut their blocks from the state dict's weights, direct ones
    /// reorder from the format they keep).
    @Test(arguments: [ConvAlgorithm.winograd, .direct])
    func plansDroppedForNewShapesAreRebuilt(algorithm: ConvAlgorithm) throws {
        let (inChannels, outChannels) = (32, 32)
        let weight = try Tensor(shape: [outChannels, inChannels, 3, 3], values: randomValues(outChannels * inChannels * 9, seed: 70, range: -0.1...0.1))
        let conv = try Conv2d(weight: weight, bias: nil, padding: 1, algorithm: algorithm)
        let first = try Tensor(shape: [1, inChannels, 64, 64], values: randomValues(inChannels * 64 * 64, seed: 71))
        let before = try conv(first).toArray()
        for extra in 1...(Conv2d.cachedPlans + 2) { _ = try conv(try Tensor(zeros: [1, inChannels, 64, 64 + extra])) }
        #expect(try conv(first).toArray() == before)
    }

    /// bfloat16 inputs and weights: within bfloat16 rounding of the reference where the CPU has the
    /// kernels, and float32 direct (exactly) where it has not, on blocked and plain inputs.
    @Test(arguments: [(32, 32), (3, 16)])
    func bfloat16StaysCloseOrFallsBack(inChannels: Int, outChannels: Int) throws {
        let shape = [1, inChannels, 20, 18]
        let x = randomValues(shape.reduce(1, *), seed: 50)
        let weight = randomValues(outChannels * inChannels * 9, seed: 51, range: -0.2...0.2)
        let expected = referenceConvolution(x, shape: shape, weight: weight, weightShape: [outChannels, inChannels, 3, 3], bias: nil,
                                            stride: 1, padding: .symmetric(1)).values
        func run(_ algorithm: ConvAlgorithm) throws -> [Float] {
            try Conv2d(weight: try Tensor(shape: [outChannels, inChannels, 3, 3], values: weight), bias: nil, padding: 1, algorithm: algorithm)(
                try Tensor(shape: shape, values: x)).toArray()
        }
        let (reduced, direct) = (try run(.bfloat16), try run(.direct))
        let closeness = Closeness(reduced, expected, absolute: 2e-2, relative: 2e-2)
        #expect(closeness.isClose, "\(closeness)")
        if Conv2d.bfloat16Supported { #expect(reduced != direct, "bfloat16 mode gave the float32 result") } else { #expect(reduced == direct) }
    }

    /// Winograd runs only where it pays and fits: large planes of narrow layers, on CPUs with the kernels.
    @Test(.enabled(if: Conv2d.activationBlock == 16))
    func winogradIsUsedOnLargePlanesOnly() throws {
        let narrow = try Conv2d(weight: try Tensor(zeros: [64, 64, 3, 3]), bias: nil, padding: 1, algorithm: .winograd)
        #expect(try narrow.implementation(forInputShape: [1, 64, 128, 128]).contains("wino"))
        #expect(try !narrow.implementation(forInputShape: [1, 64, 32, 32]).contains("wino"))
        let wide = try Conv2d(weight: try Tensor(zeros: [512, 512, 3, 3]), bias: nil, padding: 1, algorithm: .winograd)
        #expect(wide.algorithm == .direct)
        let strided = try Conv2d(weight: try Tensor(zeros: [64, 64, 3, 3]), bias: nil, stride: 2, padding: 1, algorithm: .winograd)
        #expect(strided.algorithm == .direct)
    }

    /// The reduced-precision mode of Winograd networks: Winograd where it applies, bfloat16 elsewhere.
    @Test(.enabled(if: Conv2d.activationBlock == 16))
    func winogradOrBFloat16PicksPerLayer() throws {
        let narrow = try Conv2d(weight: try Tensor(zeros: [64, 64, 3, 3]), bias: nil, padding: 1, algorithm: .winogradOrBFloat16)
        #expect(try narrow.implementation(forInputShape: [1, 64, 128, 128]).contains("wino"))
        let wide = try Conv2d(weight: try Tensor(zeros: [256, 256, 3, 3]), bias: nil, padding: 1, algorithm: .winogradOrBFloat16)
        let implementation = try wide.implementation(forInputShape: [1, 256, 64, 64])
        #expect(Conv2d.bfloat16Supported ? implementation.contains("bf16") : !implementation.contains("wino") && !implementation.contains("bf16"),
                "\(implementation)")
        #expect(ComputePrecision.bfloat16.convolutionAlgorithm(.winograd) == (Conv2d.bfloat16Supported ? .winogradOrBFloat16 : .winograd))
        #expect(ComputePrecision.float32.convolutionAlgorithm(.winograd) == .winograd)
    }

    @Test func optimisedKernelIsChosen() throws {
        let conv = try Conv2d(weight: try Tensor(zeros: [64, 64, 3, 3]), bias: try Tensor(zeros: [64]), padding: 1)
        let implementation = try conv.implementation(forInputShape: [1, 64, 32, 32])
        #expect(!implementation.hasPrefix("ref"), "oneDNN fell back to \(implementation)")
    }

    /// A layer oneDNN cannot build for an input (a 5x5 kernel without padding over a 2x2 map has no
    /// output) is a thrown `ComputeError` naming the shape, and the layer keeps working on others.
    @Test func impossibleShapeIsAThrownError() throws {
        let conv = try Conv2d(weight: Tensor(shape: [16, 16, 5, 5], values: randomValues(16 * 16 * 25, seed: 50)), bias: nil, padding: 0)
        let tiny = try Tensor(shape: [1, 16, 2, 2], values: randomValues(64, seed: 51))
        do {
            _ = try conv(tiny)
            Issue.record("a convolution with no output ran")
        } catch let error as ComputeError {
            guard case .primitiveCreation(_, let shape, let status) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(shape == [1, 16, 2, 2] && status == 2, "\(error)")  // dnnl_invalid_arguments
            #expect(error.description.contains("oneDNN could not create"))
            #expect(!error.isResourceExhaustion)
        }
        #expect(try conv(Tensor(zeros: [1, 16, 9, 9])).shape == [1, 16, 5, 5])
    }
}
