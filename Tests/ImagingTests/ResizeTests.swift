import Foundation
import Imaging
import Testing
import TestSupport

@Suite("Resize (OpenCV-exact)")
struct ResizeTests {
    /// `FaceRestoreHelper.read_image` then the 640 detection resize of `get_face_landmarks_5`.
    static func detectorImage(_ file: String) throws -> Image {
        var image = try TestImages.load("images/" + file).droppingAlpha()
        let shortSide = min(image.width, image.height)
        if shortSide < 512 {
            let f = 512.0 / Double(shortSide)
            image = image.resized(fx: f, fy: f, interpolation: .linear)
        }
        let scale = 640.0 / Double(min(image.width, image.height))
        let height = Int(Double(image.height) * scale), width = Int(Double(image.width) * scale)
        return image.resized(width: width, height: height, interpolation: scale < 1 ? .area : .linear)
    }

    @Test("04.jpg → read_image → 640 equals retinaface_mnet/det_image.png bit for bit",
          .enabled(if: Fixtures.available("facelib/retinaface_mnet/det_image.png")))
    func mobilenetChain() throws {
        let ours = try Self.detectorImage("04.jpg")
        let reference = try TestImages.load("facelib/retinaface_mnet/det_image.png")
        #expect(ours.width == 640 && ours.height == 640)
        #expect(TestImages.difference(ours, reference) == (0, 0))
    }

    @Test("01.jpg → read_image (fx = 512/189) → 840x640 equals retinaface_r50/det_image.png bit for bit",
          .enabled(if: Fixtures.available("facelib/retinaface_r50/det_image.png")))
    func resnetChain() throws {
        let ours = try Self.detectorImage("01.jpg")
        let reference = try TestImages.load("facelib/retinaface_r50/det_image.png")
        #expect(ours.width == 840 && ours.height == 640)
        #expect(TestImages.difference(ours, reference) == (0, 0))
        // The size ratio instead of 1/f changes pixels: the fx/fy form matters.
        let input = try TestImages.load("images/01.jpg")
        let f = 512.0 / 189.0
        let byRatio = input.resized(width: 672, height: 512)
        #expect(TestImages.difference(byRatio, input.resized(fx: f, fy: f)).count > 0)
    }

    @Test("02.png INTER_AREA 1204x645 → 1194x640 equals detect_preprocess/det_image_02.png",
          .enabled(if: Fixtures.available("facelib/detect_preprocess/det_image_02.png")))
    func areaChain() throws {
        let ours = try Self.detectorImage("02.png")
        let reference = try TestImages.load("facelib/detect_preprocess/det_image_02.png")
        #expect(ours.width == 1194 && ours.height == 640)
        let (count, maxDiff) = TestImages.difference(ours, reference)
        #expect(maxDiff <= 1, "max \(maxDiff)")
        #expect(count == 0, "\(count) of \(ours.sampleCount) samples differ by 1")
    }

    @Test("LANCZOS4 outscale of the Real-ESRGAN x4plus outputs is bit-exact",
          .enabled(if: Fixtures.available("realesrgan/x4plus/enhance_notile_out4.png")),
          arguments: ["notile", "tile48_pad8"])
    func lanczos(variant: String) throws {
        let big = try TestImages.load("realesrgan/x4plus/enhance_\(variant)_out4.png")
        let reference = try TestImages.load("realesrgan/x4plus/enhance_\(variant)_out2.png")
        let ours = big.resized(width: 123 * 2, height: 91 * 2, interpolation: .lanczos4)
        #expect(TestImages.difference(ours, reference) == (0, 0))
    }

    @Test("paste-back background: INTER_LINEAR 2x upscale of the 04 input_img")
    func pasteBackground() throws {
        // No stored fixture for the background alone; check structure: corners replicate, size doubles.
        let image = TestImages.pattern(width: 9, height: 7, channels: 3)
        let up = image.resized(width: 18, height: 14)
        #expect(up.width == 18 && up.height == 14)
        for c in 0..<3 { #expect(up[0, 0, c] == image[0, 0, c] && up[17, 13, c] == image[8, 6, c]) }
    }

    @Test("special cases: same size copies, exact 2x linear shrink is a rounded 2x2 mean")
    func specialCases() {
        let image = TestImages.pattern(width: 6, height: 4, channels: 3)
        #expect(image.resized(width: 6, height: 4) == image)
        let half = image.resized(width: 3, height: 2, interpolation: .linear)
        for y in 0..<2 {
            for x in 0..<3 {
                for c in 0..<3 {
                    let sum = image[2 * x, 2 * y, c] + image[2 * x + 1, 2 * y, c] + image[2 * x, 2 * y + 1, c] + image[2 * x + 1, 2 * y + 1, c]
                    #expect(half[x, y, c] == (sum + 2) >> 2)
                }
            }
        }
        // 2-channel images take the float path: half to even.
        let two = Image(width: 2, height: 2, channels: 2, pixels8: [0, 0, 1, 1, 0, 0, 1, 1])
        #expect(two.resized(width: 1, height: 1, interpolation: .area).pixels8 == [0, 0])
        let three = Image(width: 2, height: 2, channels: 1, pixels8: [0, 1, 0, 1])
        #expect(three.resized(width: 1, height: 1, interpolation: .area).pixels8 == [1])
        // 3x3 block means.
        let grey = Image(width: 6, height: 3, channels: 1, pixels8: [1, 2, 3, 10, 10, 10, 4, 5, 6, 10, 10, 10, 7, 8, 9, 10, 10, 12])
        #expect(grey.resized(width: 2, height: 1, interpolation: .area).pixels8 == [5, 10])
    }

    @Test("every channel count and bit depth resizes consistently")
    func layouts() {
        for channels in 1...4 {
            let image = TestImages.pattern(width: 13, height: 11, channels: channels, seed: UInt64(channels))
            for mode in [Interpolation.linear, .area, .lanczos4] {
                for (w, h) in [(20, 17), (7, 5), (13, 4), (26, 22)] {
                    let out = image.resized(width: w, height: h, interpolation: mode)
                    #expect(out.width == w && out.height == h && out.channels == channels)
                    // Each channel alone gives the same samples as in the interleaved image.
                    let single = Image(width: 13, height: 11, channels: 1, pixels8: stride(from: channels - 1, to: image.sampleCount, by: channels).map { image.pixels8[$0] })
                    let alone = single.resized(width: w, height: h, interpolation: mode)
                    #expect(alone.pixels8 == stride(from: channels - 1, to: out.sampleCount, by: channels).map { out.pixels8[$0] })
                }
            }
        }
        // 16-bit follows the 8-bit result closely on a smooth image.
        let smooth = TestImages.gradient(width: 40, height: 30)
        let wide = Image(width: 40, height: 30, channels: 3, pixels16: smooth.pixels8.map { UInt16($0) * 257 })
        for mode in [Interpolation.linear, .area, .lanczos4] {
            let a = smooth.resized(width: 57, height: 21, interpolation: mode)
            let b = wide.resized(width: 57, height: 21, interpolation: mode).to8Bit()
            #expect(TestImages.difference(a, b).max <= 1)
        }
        // Float path.
        let floats = Resize.resize(floats: [0, 1, 2, 3], width: 2, height: 2, channels: 1, toWidth: 4, toHeight: 4)
        #expect(floats.count == 16 && floats[0] == 0 && floats[15] == 3)
    }
}
