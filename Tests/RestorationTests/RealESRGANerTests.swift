import Foundation
import Imaging
import Networks
import Restoration
import TensorCore
import Testing
import TestSupport

/// `RealESRGANer.enhance` against the official one on `fixtures/realesrgan` (README section 3):
/// stitched raw outputs of full-size networks max abs <= 2e-4, mean abs <= 5e-6; 8-bit PNGs max
/// difference 1 on at most 0.5 % of values; 16-bit max 1 on at most 3 %.
@Suite(.serialized) struct RealESRGANerTests {
    static let fullMaxAbs = 2e-4, fullMeanAbs = 5e-6

    static let x4plus: Result<RRDBNet, Error> = Result {
        try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth"), algorithm: .direct)
    }
    static let x2plusSynth: Result<RRDBNet, Error> = Result {
        try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/x2plus_synth/manifest.json"), algorithm: .direct)
    }

    static func image(_ fixture: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url(fixture)))
    }

    /// An 8-bit RGB image as the reference's network input: (1, 3, H, W), `float32(u8) / 255`.
    static func tensor(_ image: Image) throws -> Tensor {
        let n = image.pixelCount
        let t = try Tensor(zeros: [1, 3, image.height, image.width])
        for c in 0..<3 {
            for i in 0..<n { t.data[c * n + i] = Float(image.pixels8[i * 3 + c]) / 255 }
        }
        return t
    }

    static func compareRaw(_ actual: Tensor, _ fixture: String) throws {
        try expectMatchesFixture(actual, fixture, maxAbs: fullMaxAbs, meanAbs: fullMeanAbs)
    }

    static func comparePNG(_ actual: Image, _ fixture: String) throws {
        let expected = try image(fixture)
        #expect(actual.width == expected.width && actual.height == expected.height, "\(fixture): size \(actual.width)x\(actual.height) vs \(expected.width)x\(expected.height)")
        #expect(actual.channels == expected.channels && actual.bitDepth == expected.bitDepth,
                "\(fixture): \(actual.channels) channels / \(actual.bitDepth) bit vs \(expected.channels) / \(expected.bitDepth)")
        guard actual.sampleCount == expected.sampleCount, actual.bitDepth == expected.bitDepth else { return }
        var differing = 0, largest = 0
        for i in 0..<expected.sampleCount {
            let a = actual.bitDepth == 8 ? Int(actual.pixels8[i]) : Int(actual.pixels16[i])
            let b = expected.bitDepth == 8 ? Int(expected.pixels8[i]) : Int(expected.pixels16[i])
            let d = abs(a - b)
            if d > 0 { differing += 1 }
            largest = max(largest, d)
        }
        let fraction = Double(differing) / Double(expected.sampleCount)
        let bound = expected.bitDepth == 16 ? 0.03 : 0.005
        print("parity \(fixture): \(differing)/\(expected.sampleCount) values differ (\(String(format: "%.4f", fraction * 100)) %, bound \(bound * 100) %), max \(largest)")
        #expect(largest <= 1, "\(fixture): max difference \(largest)")
        #expect(fraction <= bound, "\(fixture): \(differing) values differ")
    }

    // MARK: x4plus, real weights

    @Test(.enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth")),
          arguments: [(48, "tile48_pad8"), (0, "notile")])
    func x4plus(tile: Int, name: String) throws {
        let upsampler = RealESRGANer(network: try Self.x4plus.get(), tile: tile, tilePad: 8, prePad: 0)
        let input = try Self.image("realesrgan/x4plus/enhance_input.png")
        try Self.compareRaw(upsampler.upscaleRaw(Self.tensor(input)), "realesrgan/x4plus/enhance_\(name)_raw.npy")
        let start = ContinuousClock.now
        let out4 = try upsampler.enhance(input, outscale: 4)
        print("timing x4plus enhance \(name) 123x91 -> 492x364: \(ContinuousClock.now - start)")
        try Self.comparePNG(out4, "realesrgan/x4plus/enhance_\(name)_out4.png")
        try Self.comparePNG(upsampler.enhance(input), "realesrgan/x4plus/enhance_\(name)_out4.png")
        try Self.comparePNG(upsampler.enhance(input, outscale: 2), "realesrgan/x4plus/enhance_\(name)_out2.png")
    }

    // MARK: x2plus architecture, synthetic weights (odd input size: reflect mod pad)

    @Test(.enabled(if: Fixtures.available("realesrgan/x2plus_synth/manifest.json")),
          arguments: [(40, "tile40_pad8"), (0, "notile")])
    func x2plusSynthetic(tile: Int, name: String) throws {
        let upsampler = RealESRGANer(network: try Self.x2plusSynth.get(), tile: tile, tilePad: 8, prePad: 0)
        let input = try Self.image("realesrgan/x2plus_synth/enhance_input.png")
        try Self.compareRaw(upsampler.upscaleRaw(Self.tensor(input)), "realesrgan/x2plus_synth/enhance_\(name)_raw.npy")
        try Self.comparePNG(upsampler.enhance(input, outscale: 2), "realesrgan/x2plus_synth/enhance_\(name)_out2.png")
    }

    // MARK: tiny tuned models, corner cases (meta.json -> enhance.runs)

    struct Run: Sendable, CustomStringConvertible {
        let output: String, input: String, model: String
        let tile: Int, tilePad: Int, prePad: Int, outscale: Double
        var description: String { output }
    }

    static let runs: [Run] = [
        Run(output: "enh_x2_odd_tile16_pad4_prepad2_out2.png", input: "enh_input_odd.png", model: "tiny_rrdb_x2_tuned.pth", tile: 16, tilePad: 4, prePad: 2, outscale: 2),
        Run(output: "enh_x2_odd_tile16_pad4_prepad2_out1p5.png", input: "enh_input_odd.png", model: "tiny_rrdb_x2_tuned.pth", tile: 16, tilePad: 4, prePad: 2, outscale: 1.5),
        Run(output: "enh_x4_odd_tile16_pad4_prepad0_out2.png", input: "enh_input_odd.png", model: "tiny_rrdb_x4_tuned.pth", tile: 16, tilePad: 4, prePad: 0, outscale: 2),
        Run(output: "enh_x4_odd_notile_prepad10_out4.png", input: "enh_input_odd.png", model: "tiny_rrdb_x4_tuned.pth", tile: 0, tilePad: 10, prePad: 10, outscale: 4),
        Run(output: "enh_x2_rgba_tile16_pad4_out2.png", input: "enh_input_rgba.png", model: "tiny_rrdb_x2_tuned.pth", tile: 16, tilePad: 4, prePad: 0, outscale: 2),
        Run(output: "enh_x4_16bit_notile_out4.png", input: "enh_input_16bit.png", model: "tiny_rrdb_x4_tuned.pth", tile: 0, tilePad: 10, prePad: 0, outscale: 4),
        Run(output: "enh_x2_gray_notile_out2.png", input: "enh_input_gray.png", model: "tiny_rrdb_x2_tuned.pth", tile: 0, tilePad: 10, prePad: 0, outscale: 2),
    ]

    @Test(.enabled(if: Fixtures.available("realesrgan/tiny/meta.json")), arguments: runs)
    func tinyCornerCase(_ run: Run) throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/tiny/\(run.model)"), algorithm: .direct)
        let upsampler = RealESRGANer(network: network, tile: run.tile, tilePad: run.tilePad, prePad: run.prePad)
        let input = try Self.image("realesrgan/tiny/\(run.input)")
        try Self.comparePNG(upsampler.enhance(input, outscale: run.outscale), "realesrgan/tiny/\(run.output)")
    }

    /// The demo's tile 400 on an image smaller than a tile is exactly the untiled path.
    @Test(.enabled(if: Fixtures.available("realesrgan/tiny/tiny_rrdb_x2_tuned.pth")))
    func tilingOfAnImageWithinOneTileEqualsNoTiling() throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2_tuned.pth"), algorithm: .direct)
        let input = try Self.image("realesrgan/tiny/enh_input_odd.png")
        let tiled = try RealESRGANer(network: network, tile: 400, tilePad: 40, prePad: 0).enhance(input)
        let whole = try RealESRGANer(network: network, tile: 0, prePad: 0).enhance(input)
        #expect(tiled == whole)
    }

    /// The seam cross-fade (our option): weights along an axis sum to one for any tiling.
    @Test(arguments: [(100, 16, 4), (37, 10, 5), (64, 32, 3), (50, 8, 1)])
    func seamWeightsPartitionUnity(length: Int, tile: Int, overlap: Int) throws {
        var sum = [Float](repeating: 0, count: length)
        for start in stride(from: 0, to: length, by: tile) {
            let (first, weights) = RealESRGANer.seamWeights(start: start, end: min(start + tile, length), length: length, overlap: overlap)
            for (i, weight) in weights.enumerated() { sum[first + i] += weight }
        }
        #expect(sum.allSatisfy { abs($0 - 1) < 1e-6 }, "\(sum)")
    }

    /// With an overlap, output far from the seams is the hard-seam output; at the seams the jump
    /// between neighbouring output columns shrinks.
    @Test(.enabled(if: Fixtures.available("realesrgan/tiny/tiny_rrdb_x2_tuned.pth")))
    func seamOverlapOnlyChangesTheSeamBands() throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2_tuned.pth"), algorithm: .direct)
        let input = try Self.tensor(try Self.image("realesrgan/tiny/enh_input_odd.png").color(order: .rgb))
        let (tile, overlap) = (16, 4)
        let hard = try RealESRGANer(network: network, tile: tile, tilePad: 6, prePad: 0).upscaleRaw(input).contiguous()
        let soft = try RealESRGANer(network: network, tile: tile, tilePad: 6, prePad: 0, seamOverlap: overlap).upscaleRaw(input).contiguous()
        #expect(hard.shape == soft.shape)
        let (h, w) = (hard.shape[2], hard.shape[3])
        // Output seams sit at multiples of 2 * tile; each band is [seam - 2 * overlap, seam + 2 * overlap).
        func nearSeam(_ p: Int, _ length: Int) -> Bool {
            stride(from: 2 * tile, to: length, by: 2 * tile).contains { p >= $0 - 2 * overlap && p < $0 + 2 * overlap }
        }
        var farDifference: Float = 0, nearDifference: Float = 0
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let i = (c * h + y) * w + x
                    let d = abs(hard.data[i] - soft.data[i])
                    if nearSeam(x, w) || nearSeam(y, h) { nearDifference = max(nearDifference, d) } else { farDifference = max(farDifference, d) }
                }
            }
        }
        #expect(farDifference == 0, "outside the seam bands the outputs must be identical")
        #expect(nearDifference > 0, "the seam bands are cross-faded")
    }
}
