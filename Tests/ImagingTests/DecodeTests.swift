import Foundation
import Imaging
import Testing
import TestSupport

@Suite("Decoding")
struct DecodeTests {
    static let expected: [(String, Int, Int, Int)] = [
        ("00.jpg", 491, 310, 3), ("01.jpg", 248, 189, 3), ("03.jpg", 400, 225, 3), ("04.jpg", 225, 225, 3),
        ("0143.png", 512, 512, 3), ("0240.png", 512, 512, 3), ("0342.png", 512, 512, 3),
        ("02.png", 1204, 645, 4), ("Einstein01.png", 512, 512, 3),
    ]

    @Test("every shared photo decodes with the right size and channels", .enabled(if: Fixtures.available("images/04.jpg")))
    func fixtureImages() throws {
        for (name, width, height, channels) in Self.expected {
            let image = try TestImages.load("images/" + name)
            #expect(image.width == width && image.height == height, "\(name): \(image.width)x\(image.height)")
            #expect(image.channels == channels, "\(name): \(image.channels) channels")
            #expect(image.bitDepth == 8)
        }
    }

    @Test("02.png alpha is kept and IMREAD_COLOR drops it", .enabled(if: Fixtures.available("images/02.png")))
    func rgbaFixture() throws {
        let image = try TestImages.load("images/02.png")
        let (color, alpha) = image.splitAlpha()
        #expect(color.channels == 3)
        #expect(alpha?.pixels8.allSatisfy { $0 == 255 } == true)   // README: alpha all 255
        let bgr = image.openCVColor()
        #expect(bgr.channels == 3 && bgr[0, 0, 0] == image[0, 0, 2] && bgr[0, 0, 2] == image[0, 0, 0])
        #expect(try color.attachingAlpha(alpha!) == image)
    }

    @Test("16-bit, grey and RGBA PNG fixtures", .enabled(if: Fixtures.available("realesrgan/tiny/enh_input_16bit.png")))
    func otherLayouts() throws {
        let wide = try TestImages.load("realesrgan/tiny/enh_input_16bit.png")
        #expect(wide.bitDepth == 16 && wide.channels == 3 && wide.width == 37 && wide.height == 29)
        #expect(wide.pixels16.max()! > 256)
        let grey = try TestImages.load("realesrgan/tiny/enh_input_gray.png")
        #expect(grey.bitDepth == 8 && grey.channels == 1)
        let rgba = try TestImages.load("realesrgan/tiny/enh_input_rgba.png")
        #expect(rgba.channels == 4)
        // IMREAD_COLOR: 16-bit → v >> 8, grey → replicated BGR.
        let bgr = wide.openCVColor()
        #expect(bgr.bitDepth == 8 && bgr[3, 4, 0] == wide[3, 4, 2] >> 8)
        let greyBGR = grey.openCVColor()
        #expect(greyBGR.channels == 3 && greyBGR[5, 6, 1] == grey[5, 6, 0] && greyBGR[5, 6, 2] == grey[5, 6, 0])
    }

    @Test("WebP lossless round trip, lossy decode, RGBA")
    func webp() throws {
        let rgb = TestImages.pattern(width: 33, height: 17, channels: 3)
        #expect(try ImageDecoder.decode(ImageEncoder.webp(rgb)) == rgb)
        // Lossless WebP may rewrite the colour of fully transparent pixels, so keep alpha > 0.
        var rgba = TestImages.pattern(width: 20, height: 9, channels: 4, seed: 7)
        for i in stride(from: 3, to: rgba.sampleCount, by: 4) { rgba.pixels8[i] |= 1 }
        #expect(try ImageDecoder.decode(ImageEncoder.webp(rgba)) == rgba)
        let photo = TestImages.gradient(width: 64, height: 48)
        let lossy = try ImageDecoder.decode(ImageEncoder.webp(photo, quality: 90))
        #expect(lossy.width == 64 && lossy.height == 48 && lossy.channels == 3)
        #expect(TestImages.difference(lossy, photo).max < 24)
    }

    @Test("truncated and corrupt data are rejected with typed errors")
    func truncatedAndCorrupt() throws {
        let photo = TestImages.gradient(width: 80, height: 60)
        let encoded: [(ImageFormat, Data)] = [
            (.jpeg, try ImageEncoder.jpeg(photo)), (.png, try ImageEncoder.png(photo)), (.webp, try ImageEncoder.webp(photo, quality: 80)),
        ]
        for (format, data) in encoded {
            for keep in [data.count / 2, data.count - 20, 40, 12] {
                do {
                    _ = try ImageDecoder.decode(data.prefix(keep))
                    Issue.record("\(format) truncated to \(keep) of \(data.count) bytes decoded")
                } catch let error as ImagingError {
                    switch error {
                    case .truncated(let f, _), .corrupt(let f, _): #expect(f == format, "\(error)")
                    default: Issue.record("\(format) truncated to \(keep): unexpected \(error)")
                    }
                }
            }
            // Flip bytes in the middle of the stream.
            var damaged = data
            for i in stride(from: data.count / 3, to: data.count * 2 / 3, by: 7) { damaged[i] ^= 0x5A }
            do {
                let image = try ImageDecoder.decode(damaged)
                // Entropy-coded formats may decode garbage without noticing; it must still be well-formed.
                #expect(image.width == 80 && image.height == 60 && format != .png, "\(format) damage undetected")
            } catch is ImagingError {}
        }
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 3, 16, 1000] {
            let random = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            #expect(throws: ImagingError.self) { try ImageDecoder.decode(random) }
        }
        // Valid magic numbers followed by garbage.
        for magic: [UInt8] in [[0xFF, 0xD8, 0xFF, 0xE0], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], Array("RIFF\u{10}\0\0\0WEBPVP8 ".utf8)] {
            #expect(throws: ImagingError.self) { try ImageDecoder.decode(Data(magic + [UInt8](repeating: 0x41, count: 64))) }
        }
        #expect(throws: ImagingError.unsupportedFormat(detected: "GIF")) { try ImageDecoder.decode(Data("GIF89a....".utf8)) }
        let message = ImagingError.unsupportedFormat(detected: nil).description
        #expect(message.contains("JPEG") && message.contains("PNG") && message.contains("WebP"))
    }

    @Test("the pixel limit is enforced from the header")
    func pixelLimit() throws {
        let image = TestImages.gradient(width: 100, height: 50)
        for data in [try ImageEncoder.jpeg(image), try ImageEncoder.png(image), try ImageEncoder.webp(image)] {
            #expect(throws: ImagingError.tooLarge(width: 100, height: 50, maxPixels: 4999)) {
                try ImageDecoder.decode(data, maxPixels: 4999)
            }
            #expect(try ImageDecoder.decode(data, maxPixels: 5000).pixelCount == 5000)
            let probe = try ImageDecoder.probe(data)
            #expect(probe.width == 100 && probe.height == 50 && probe.format == ImageDecoder.format(of: data))
        }
        // A PNG header announcing 100000 x 100000 pixels (with valid CRC) and no data must fail fast.
        let bomb = try ImageEncoder.png(Image(width: 1, height: 1, channels: 1))
        var patched = [UInt8](bomb)
        let size: [UInt8] = [0x00, 0x01, 0x86, 0xA0]
        patched.replaceSubrange(16..<20, with: size)
        patched.replaceSubrange(20..<24, with: size)
        let crc = CRC32.checksum(patched[12..<29])
        patched.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        #expect(throws: ImagingError.tooLarge(width: 100_000, height: 100_000, maxPixels: 50_000_000)) {
            try ImageDecoder.decode(Data(patched), maxPixels: 50_000_000)
        }
    }
}

/// PNG's CRC-32 (for patching headers in tests).
enum CRC32 {
    static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
