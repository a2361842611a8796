import Foundation
import Imaging
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// The aligned-face path end to end against the demo's 8-bit outputs (`tensor2img` + `cv2.imwrite`):
/// the fixture README allows values off by one where float32 lands on the other side of a rounding
/// boundary, at most 0.1 % of them.
@Suite(.serialized) struct AlignedFaceRestorerTests {
    static let face = "codeformer/input_0240.png"

    static let tiny: Result<AlignedFaceRestorer, Error> = Result {
        AlignedFaceRestorer(codeformer: try NetworkLoader().load(CodeFormer.self, from: Fixtures.url("codeformer/codeformer_tiny.pth"), precision: .float32))
    }
    static let full: Result<AlignedFaceRestorer, Error> = Result {
        AlignedFaceRestorer(codeformer: try NetworkLoader().load(CodeFormer.self, from: Fixtures.url("codeformer/codeformer_full.manifest.json"), precision: .float32))
    }

    static func image(_ fixture: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url(fixture)))
    }

    static func expectMatchesDemo(_ restorer: AlignedFaceRestorer, w: Float, expected fixture: String) throws {
        let result = try restorer.restore(try image(face), fidelity: w)
        let expected = try image(fixture)
        #expect(result.image.width == 512 && result.image.height == 512 && result.image.channels == 3)
        #expect(!result.inputWasGray)
        let actual = result.image.pixels8, reference = expected.pixels8
        #expect(actual.count == reference.count)
        var differing = 0, largest = 0
        for i in 0..<min(actual.count, reference.count) {
            let d = abs(Int(actual[i]) - Int(reference[i]))
            if d > 0 { differing += 1 }
            largest = max(largest, d)
        }
        let fraction = Double(differing) / Double(reference.count)
        print("parity \(fixture): \(differing) values differ (\(String(format: "%.4f", fraction * 100)) %), max \(largest)")
        #expect(largest <= 1, "\(fixture): max difference \(largest)")
        #expect(fraction <= 0.001, "\(fixture): \(differing) values differ")
    }

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_tiny.pth") && Fixtures.available(face)),
          arguments: [(Float(0), "0.0"), (0.5, "0.5"), (1.0, "1.0")])
    func tinyMatchesTheDemoPNG(w: Float, name: String) throws {
        try Self.expectMatchesDemo(try Self.tiny.get(), w: w, expected: "codeformer/out_w\(name).png")
    }

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_full.manifest.json") && Fixtures.available(face)),
          arguments: [(Float(0), "0.0"), (0.5, "0.5"), (1.0, "1.0")])
    func fullMatchesTheDemoPNG(w: Float, name: String) throws {
        try Self.expectMatchesDemo(try Self.full.get(), w: w, expected: "codeformer/full_out_w\(name).png")
    }

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_tiny.pth") && Fixtures.available(face)))
    func greyFacesComeBackGrey() throws {
        let colour = try Self.image(Self.face)
        var grey = colour.pixels8
        for i in stride(from: 0, to: grey.count, by: 3) {
            let v = UInt8((Int(grey[i]) + Int(grey[i + 1]) + Int(grey[i + 2])) / 3)
            grey[i] = v; grey[i + 1] = v; grey[i + 2] = v
        }
        let result = try Self.tiny.get().restore(Image(width: 512, height: 512, channels: 3, pixels8: grey), fidelity: 0.5)
        #expect(result.inputWasGray)
        let p = result.image.pixels8
        var colourful = 0
        for i in stride(from: 0, to: p.count, by: 3) where p[i] != p[i + 1] || p[i + 1] != p[i + 2] {
            colourful += 1
        }
        #expect(colourful == 0)
    }

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_tiny.pth") && Fixtures.available(face)))
    func otherSizesAreResizedAndAlphaSurvives() throws {
        let colour = try Self.image(Self.face).resized(width: 200, height: 160, interpolation: .linear)
        var rgba = [UInt8]()
        for i in 0..<colour.pixelCount {
            rgba += colour.pixels8[3 * i..<3 * i + 3]
            rgba.append(i % 200 < 100 ? 255 : 0)  // left half opaque, right half transparent
        }
        let result = try Self.tiny.get().restore(Image(width: 200, height: 160, channels: 4, pixels8: rgba), fidelity: 0.7)
        #expect(result.image.width == 512 && result.image.height == 512 && result.image.channels == 4)
        #expect(result.image[100, 256, 3] == 255)
        #expect(result.image[400, 256, 3] == 0)
    }
}
