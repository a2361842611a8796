import Foundation
import Imaging
import Networks
import Restoration
import TensorCore
import Testing
import TestSupport

/// The upsampler in reduced precision against float32, on every fixture photo, as the 8-bit images
/// `RealESRGANer.enhance` returns. By default (`PrecisionSetting.mixed`) float32 Winograd takes over
/// from bfloat16 where it runs (faster and exact): the same result as float32. Where bfloat16 runs
/// (its direct kernels in the trunk, `ConvAlgorithm.bfloat16`): PSNR at least 50 dB with the real
/// x4plus weights and with x2plus-shaped synthetic ones. Centre crops keep the test short. Figures
/// are printed for the README (`swift test -c release --filter ReducedPrecision`).
@Suite(.serialized) struct ReducedPrecisionUpsamplerTests {
    static let minimumPSNR = 50.0
    static let photos = ["00.jpg", "01.jpg", "02.png", "03.jpg", "04.jpg", "0143.png", "0240.png", "0342.png", "Einstein01.png"]

    /// PSNR of two 8-bit images of the same size, over every sample.
    static func psnr(_ a: Image, _ b: Image) -> Double {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels)
        let squares = zip(a.pixels8, b.pixels8).reduce(0.0) { $0 + Double((Int($1.0) - Int($1.1)) * (Int($1.0) - Int($1.1))) }
        let mse = squares / Double(a.pixels8.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// The centre `side x side` of an 8-bit image (all of it where smaller).
    static func centre(_ image: Image, side: Int) -> Image {
        let (w, h) = (min(side, image.width), min(side, image.height))
        let (left, top) = ((image.width - w) / 2, (image.height - h) / 2)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(w * h * image.channels)
        for y in top..<top + h {
            let start = ((y * image.width) + left) * image.channels
            pixels += image.pixels8[start..<start + w * image.channels]
        }
        return Image(width: w, height: h, channels: image.channels, pixels8: pixels)
    }

    static func check(_ name: String, load: (ConvAlgorithm) throws -> RRDBNet, side: Int) throws {
        func upsampler(_ algorithm: ConvAlgorithm) throws -> RealESRGANer {
            RealESRGANer(network: try load(algorithm), tile: 400, tilePad: 40, prePad: 0)
        }
        let full = try upsampler(RRDBNet.convolutionAlgorithm(for: .float32))
        let byDefault = try upsampler(RRDBNet.convolutionAlgorithm(for: PrecisionSetting.mixed.upsampler))
        let bfloat16 = try upsampler(.bfloat16)
        var figures: [String] = []
        for photo in photos {
            // Colour only, as the pipeline upsamples it (the alpha of 02.png is a flat 255 plane).
            let image = centre(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(photo)"))).splitAlpha().color.to8Bit(), side: side)
            let reference = try full.enhance(image)
            let quality = psnr(try bfloat16.enhance(image), reference)
            figures.append("\(photo) \(String(format: "%.1f", quality))")
            if Conv2d.bfloat16Supported {
                #expect(quality.isFinite, "\(name) \(photo): bfloat16 gave float32's exact result: it is not on")
                #expect(quality >= minimumPSNR, "\(name) \(photo): PSNR \(quality) dB")
            } else {
                #expect(quality == .infinity, "without bfloat16 kernels the upsampler must run float32")
            }
            let defaultQuality = psnr(try byDefault.enhance(image), reference)
            if Conv2d.fusedWinogradSupported || !Conv2d.bfloat16Supported {
                #expect(defaultQuality == .infinity, "\(name) \(photo): the default must run float32 here (\(PrecisionSetting.mixed.upsamplerArithmetic))")
            } else {
                #expect(defaultQuality >= minimumPSNR, "\(name) \(photo): default PSNR \(defaultQuality) dB")
            }
        }
        print("upsampler bfloat16 trunk vs float32, \(name), centre \(side)x\(side), PSNR dB: \(figures.joined(separator: ", ")); default: \(PrecisionSetting.mixed.upsamplerArithmetic)")
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth") && Fixtures.available("images/04.jpg")))
    func x4plusRealWeights() throws {
        try Self.check("x4plus real weights", load: { try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth"), algorithm: $0) }, side: 96)
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/x2plus_synth/manifest.json") && Fixtures.available("images/04.jpg")))
    func x2plusSyntheticWeights() throws {
        try Self.check("x2plus synthetic weights", load: { try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/x2plus_synth/manifest.json"), algorithm: $0) }, side: 160)
    }

    /// The precision setting: by default only the upsampler is reduced; `float32` and `bfloat16` are uniform.
    @Test func precisionSettingPerNetwork() throws {
        #expect(PrecisionSetting.mixed.upsampler == .bfloat16 && PrecisionSetting.mixed.faceNetworks == .float32)
        #expect(PrecisionSetting.float32.upsampler == .float32 && PrecisionSetting.float32.faceNetworks == .float32)
        #expect(PrecisionSetting.bfloat16.upsampler == .bfloat16 && PrecisionSetting.bfloat16.faceNetworks == .bfloat16)
        #expect(RRDBNet.convolutionAlgorithm(for: .float32) == .fusedWinograd)
        #expect(RRDBNet.convolutionAlgorithm(for: .bfloat16) == (Conv2d.bfloat16Supported ? .fusedWinogradOrBFloat16 : .fusedWinograd))
    }
}
