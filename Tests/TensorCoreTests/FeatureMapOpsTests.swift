import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct FeatureMapOpsTests {
    @Test(arguments: [TensorLayout.contiguous, .channelBlocked(8), .channelBlocked(16)])
    func groupNormMatchesFloat64Reference(layout: TensorLayout) throws {
        let (c, h, w, groups) = (64, 9, 11, 32)
        // A common offset makes a naive E[x^2] - E[x]^2 lose precision. (Much larger offsets lose
        // precision in the x * a + b form itself, which PyTorch shares.)
        let values = randomValues(c * h * w, seed: 7).map { $0 + 10 }
        let gamma = randomValues(c, seed: 8, range: 0.5...1.5), beta = randomValues(c, seed: 9)
        let norm = try GroupNorm(groups: groups, epsilon: 1e-6, weight: try Tensor(shape: [c], values: gamma), bias: try Tensor(shape: [c], values: beta))
        var input = try Tensor(shape: [1, c, h, w], values: values).withLayout(layout)
        let out = try norm(input, activation: .swish).toArray()
        let buffer = input.data
        try norm.normalize(&input, activation: .swish)
        #expect(input.data == buffer, "the only handle's map is normalised in place")
        #expect(input.toArray() == out, "in place differs from a new map")

        var expected = [Float](repeating: 0, count: values.count)
        let perGroup = c / groups, plane = h * w
        for g in 0..<groups {
            let range = g * perGroup * plane..<(g + 1) * perGroup * plane
            let mean = range.reduce(0.0) { $0 + Double(values[$1]) } / Double(range.count)
            let variance = range.reduce(0.0) { $0 + pow(Double(values[$1]) - mean, 2) } / Double(range.count)
            for i in range {
                let ch = i / plane
                let y = (Double(values[i]) - mean) / (variance + 1e-6).squareRoot() * Double(gamma[ch]) + Double(beta[ch])
                expected[i] = Float(y / (1 + exp(-y)))
            }
        }
        let closeness = Closeness(out, expected, absolute: 1e-5, relative: 1e-5)
        #expect(closeness.isClose, "\(closeness)")
    }

    /// An operation whose output no memory can hold (256 TiB, what a huge image would ask for)
    /// throws `ComputeError.outOfMemory` naming the bytes, and the process carries on.
    @Test func outputBeyondMemoryIsOutOfMemory() throws {
        let tiny = try Tensor(shape: [1, 16, 2, 2], values: randomValues(64, seed: 12))
        #expect(throws: ComputeError.outOfMemory(bytes: 1 << 48, operation: "allocating tensor [1, 16, 2097152, 2097152]")) {
            try tiny.upsampledNearest(factor: 1 << 20)
        }
        #expect(try tiny.upsampledNearest(factor: 2).shape == [1, 16, 4, 4])
    }

    @Test func nearestUpsampleRepeatsPixels() throws {
        let values = randomValues(2 * 20 * 3 * 4, seed: 10)
        let t = try Tensor(shape: [2, 20, 3, 4], values: values)
        let out = try t.upsampledNearest(factor: 2).toArray()
        for n in 0..<2 { for c in 0..<20 { for y in 0..<6 { for x in 0..<8 {
            #expect(out[((n * 20 + c) * 6 + y) * 8 + x] == values[((n * 20 + c) * 3 + y / 2) * 4 + x / 2])
        } } } }
    }

    @Test(arguments: [(16, 32), (3, 5)])
    func concatenationStacksChannels(first: Int, second: Int) throws {
        let a = randomValues(first * 12, seed: 11), b = randomValues(second * 12, seed: 12)
        let out = try Tensor.concatenateChannels([try Tensor(shape: [1, first, 3, 4], values: a), try Tensor(shape: [1, second, 3, 4], values: b)])
        #expect(out.shape == [1, first + second, 3, 4])
        #expect(out.toArray() == a + b)
    }

    @Test func pixelUnshuffleIsColourMajor() throws {
        // (1, 2, 4, 6) -> (1, 8, 2, 3): out[c*4 + dy*2 + dx, i, j] = in[c, 2i + dy, 2j + dx].
        let (c, h, w) = (2, 4, 6)
        let values = (0..<(c * h * w)).map(Float.init)
        let out = try Tensor(shape: [1, c, h, w], values: values).blocked().pixelUnshuffled(factor: 2)
        #expect(out.shape == [1, 8, 2, 3] && out.layout == .contiguous)
        let array = out.toArray()
        for ch in 0..<c { for dy in 0..<2 { for dx in 0..<2 { for i in 0..<2 { for j in 0..<3 {
            #expect(array[((ch * 4 + dy * 2 + dx) * 2 + i) * 3 + j] == values[(ch * h + 2 * i + dy) * w + 2 * j + dx])
        } } } } }
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/x2plus_synth/raw_input_pixel_unshuffled.npy")))
    func pixelUnshuffleMatchesTheOfficialOne() throws {
        let input = try NumpyArray(fixture: "realesrgan/x2plus_synth/raw_input.npy").tensor
        let expected = try NumpyArray(fixture: "realesrgan/x2plus_synth/raw_input_pixel_unshuffled.npy")
        let out = try input.pixelUnshuffled(factor: 2)
        #expect(out.shape == expected.shape)
        #expect(out.toArray() == expected.floats)
    }

    @Test func additionWorksAcrossLayouts() throws {
        let a = randomValues(24 * 6, seed: 13), b = randomValues(24 * 6, seed: 14)
        let sum = try Tensor(shape: [1, 24, 2, 3], values: a).blocked() + Tensor(shape: [1, 24, 2, 3], values: b)
        #expect(sum.toArray() == zip(a, b).map { $0 + $1 })
    }
}
