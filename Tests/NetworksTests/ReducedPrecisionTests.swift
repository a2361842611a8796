import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// The opt-in bfloat16 mode: really on where the CPU has the kernels, close to float32, and exactly
/// float32 where it has not. Figures are printed for the README (`swift test --filter ReducedPrecision`).
@Suite(.serialized) struct ReducedPrecisionTests {
    /// PSNR of two images in [lo, hi] after the 8-bit conversion the demo applies.
    static func psnr(_ a: Tensor, _ b: Tensor, range: ClosedRange<Float>) -> Double {
        func bytes(_ t: Tensor) -> [Double] {
            t.toArray().map { Double(((min(max($0, range.lowerBound), range.upperBound) - range.lowerBound) / (range.upperBound - range.lowerBound) * 255).rounded()) }
        }
        let (x, y) = (bytes(a), bytes(b))
        let mse = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(x.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth")))
    func realESRGANx4plusRealWeights() throws {
        let url = Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth")
        let input = try NumpyArray(fixture: "realesrgan/x4plus/raw_input.npy").tensor
        let full = try NetworkLoader().load(RRDBNet.self, from: url, algorithm: .direct)(input)
        let reduced = try NetworkLoader().load(RRDBNet.self, from: url, algorithm: .bfloat16)(input)
        let quality = Self.psnr(reduced, full, range: 0...1)
        print("bfloat16 x4plus (real weights) vs float32: PSNR \(String(format: "%.1f", quality)) dB")
        if Conv2d.bfloat16Supported {
            #expect(quality.isFinite, "bfloat16 mode gave float32's exact result: it is not on")
            #expect(quality > 45, "PSNR \(quality) dB")
        } else {
            #expect(quality == .infinity, "without bfloat16 kernels the mode must be float32")
        }
    }

    /// CodeFormer's stand-in weights (no real ones are available) make noise-like faces with small
    /// code margins, so bfloat16 flips some codes: the figure is a floor, not what real weights give.
    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_full.manifest.json")))
    func codeFormerSyntheticWeights() throws {
        let url = Fixtures.url("codeformer/codeformer_full.manifest.json")
        let input = try NumpyArray(fixture: "codeformer/input.npy").tensor
        let full = try NetworkLoader().load(CodeFormer.self, from: url, precision: .float32)(input, w: 0.5)
        let reduced = try NetworkLoader().load(CodeFormer.self, from: url, precision: .bfloat16)(input, w: 0.5)
        let quality = Self.psnr(reduced.image, full.image, range: -1...1)
        let flipped = zip(full.indices, reduced.indices).filter { $0 != $1 }.count
        print("bfloat16 CodeFormer (synthetic weights) vs float32: PSNR \(String(format: "%.1f", quality)) dB, \(flipped) of 256 codes differ")
        if Conv2d.bfloat16Supported {
            #expect(quality.isFinite)
            #expect(quality > 30, "PSNR \(quality) dB")
        } else {
            #expect(quality == .infinity)
        }
    }
}
