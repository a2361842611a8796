import Testing
import TestSupport
@testable import TensorCore

/// The tensor core's own Winograd kernel (`ConvAlgorithm.fusedWinograd`) against oneDNN's direct
/// kernels: the same layer, the same input, results within Winograd's rounding.
@Suite(.enabled(if: Conv2d.activationBlock == 16))
struct FusedWinogradTests {
    /// Planes that are and are not whole 4x4 tiles, down to a single pixel (every tile an edge
    /// tile), two images, odd numbers of 16-channel blocks, with and without the fused activations.
    @Test(arguments: [
        (16, 16, 1, 1, 1), (48, 16, 1, 7, 9), (16, 48, 2, 5, 3), (64, 32, 1, 37, 30), (96, 64, 1, 16, 16), (32, 80, 2, 13, 21),
    ])
    func matchesDirect(inChannels: Int, outChannels: Int, images: Int, height: Int, width: Int) throws {
        let weight = try Tensor(shape: [outChannels, inChannels, 3, 3], values: randomValues(outChannels * inChannels * 9, seed: 70, range: -0.1...0.1))
        let bias = try Tensor(shape: [outChannels], values: randomValues(outChannels, seed: 71))
        let fused = try Conv2d(weight: weight, bias: bias, padding: 1, algorithm: .fusedWinograd)
        let direct = try Conv2d(weight: weight, bias: bias, padding: 1, algorithm: .direct)
        #expect(fused.algorithm == .fusedWinograd)
        let shape = [images, inChannels, height, width]
        let input = try Tensor(shape: shape, values: randomValues(shape.reduce(1, *), seed: 72))
        for activation in [FusedActivation.none, .leakyReLU(0.2)] {
            #expect(try fused.implementation(forInputShape: shape, activation: activation).contains("fused_wino_4x3"))
            let closeness = Closeness(try fused(input, activation: activation), try direct(input, activation: activation), absolute: 1e-4, relative: 1e-4)
            #expect(closeness.isClose, "\(shape), \(activation): \(closeness)")
        }
    }

    /// Layers reading a dense block's maps in place (`DenseFeatures`) give what separate maps give,
    /// each layer's output lands after the channels it read, and the last layer's scaled residual
    /// (`x5 * 0.2 + x`) is what scaling and adding afterwards gives: fused into the kernel's output
    /// transform, or a pass after oneDNN's direct layer. 19x22 pixels: 30 tiles, the last of three
    /// groups of 12 partly empty.
    @Test(arguments: [ConvAlgorithm.fusedWinograd, .direct])
    func denseFeaturesMatchSeparateMaps(algorithm: ConvAlgorithm) throws {
        let (height, width) = (19, 22)
        let x = try Tensor(shape: [1, 32, height, width], values: randomValues(32 * height * width, seed: 73))
        func layer(_ inputs: Int, _ outputs: Int, seed: UInt64, _ algorithm: ConvAlgorithm) throws -> Conv2d {
            try Conv2d(weight: Tensor(shape: [outputs, inputs, 3, 3], values: randomValues(outputs * inputs * 9, seed: seed, range: -0.1...0.1)),
                       bias: Tensor(shape: [outputs], values: randomValues(outputs, seed: seed + 1)), padding: 1, algorithm: algorithm)
        }
        let shapes = [(32, 16), (48, 32), (80, 32)]
        let layers = try shapes.enumerated().map { try layer($1.0, $1.1, seed: 80 + 2 * UInt64($0), algorithm) }
        let reference = try shapes.enumerated().map { try layer($1.0, $1.1, seed: 80 + 2 * UInt64($0), .direct) }
        #expect(layers.allSatisfy { $0.algorithm == algorithm })
        let features = try DenseFeatures(x, capacity: 80, bfloat16: false)
        try features.append(layers[0], activation: .leakyReLU(0.2))
        try features.append(layers[1], activation: .leakyReLU(0.2))
        #expect(features.channels == 80)
        let first = try reference[0](x, activation: .leakyReLU(0.2))
        let second = try reference[1](Tensor.concatenateChannels([x, first]), activation: .leakyReLU(0.2))
        let expected = try reference[2](Tensor.concatenateChannels([x, first, second]))
        let last = try features.convolve(layers[2])
        let closeness = Closeness(last, expected, absolute: 1e-4, relative: 1e-4)
        #expect(closeness.isClose, "\(algorithm): \(closeness)")

        let residual = try Tensor(shape: [1, 32, height, width], values: randomValues(32 * height * width, seed: 74))  // contiguous
        let scaled = try features.convolve(layers[2], scaledBy: 0.2, plus: residual)
        let scaledCloseness = Closeness(scaled, try expected.scaled(by: 0.2) + residual, absolute: 1e-4, relative: 1e-4)
        #expect(scaledCloseness.isClose, "\(algorithm), scaled residual: \(scaledCloseness)")
        // The same layer's own output, scaled and added afterwards in two roundings, is matched exactly.
        #expect(scaled.toArray() == (try last.scaled(by: 0.2, plus: residual)).toArray())
    }

    /// What the kernel does not fuse runs on oneDNN: a residual, other activations; layers of
    /// other geometry are direct from the start.
    @Test func otherFusionsAndGeometriesFallBack() throws {
        let weight = try Tensor(shape: [16, 16, 3, 3], values: randomValues(16 * 16 * 9, seed: 90, range: -0.1...0.1))
        let fused = try Conv2d(weight: weight, bias: nil, padding: 1, algorithm: .fusedWinograd)
        let direct = try Conv2d(weight: weight, bias: nil, padding: 1, algorithm: .direct)
        let input = try Tensor(shape: [1, 16, 12, 12], values: randomValues(16 * 144, seed: 91))
        let residual = try Tensor(shape: [1, 16, 12, 12], values: randomValues(16 * 144, seed: 92))
        #expect(!(try fused.implementation(forInputShape: input.shape, activation: .relu).contains("fused_wino")))
        #expect(!(try fused.implementation(forInputShape: input.shape, residual: true).contains("fused_wino")))
        #expect(Closeness(try fused(input, activation: .swish), try direct(input, activation: .swish), absolute: 1e-6).isClose)
        #expect(Closeness(try fused(input, residual: residual), try direct(input, residual: residual), absolute: 1e-6).isClose)
        // No bias: the kernel adds nothing.
        #expect(Closeness(try fused(input), try direct(input), absolute: 1e-4, relative: 1e-4).isClose)
        let strided = try Conv2d(weight: weight, bias: nil, stride: 2, padding: 1, algorithm: .fusedWinograd)
        let unpadded = try Conv2d(weight: weight, bias: nil, padding: 0, algorithm: .fusedWinograd)
        let partial = try Conv2d(weight: Tensor(shape: [3, 16, 3, 3], values: randomValues(3 * 16 * 9, seed: 93)), bias: nil, padding: 1, algorithm: .fusedWinograd)
        #expect([strided, unpadded, partial].allSatisfy { $0.algorithm == .direct })
    }

    /// Reduced precision composes: bfloat16 where the CPU has it, this kernel as the float32 counterpart.
    @Test func reducedPrecisionCounterpart() throws {
        #expect(ComputePrecision.bfloat16.convolutionAlgorithm(.fusedWinograd) == (Conv2d.bfloat16Supported ? .fusedWinogradOrBFloat16 : .fusedWinograd))
        #expect(ConvAlgorithm.fusedWinogradOrBFloat16.float32Counterpart == .fusedWinograd)
    }
}
