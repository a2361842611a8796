import CSPNG
import Foundation
import Imaging
import Testing
import TestSupport

@Suite("Encoding")
struct EncodeTests {
    @Test("PNG round trip is exact for 8/16-bit x 1-4 channels, every filter", arguments: [8, 16], [1, 2, 3, 4])
    func pngRoundTrip(bitDepth: Int, channels: Int) throws {
        let image = TestImages.pattern(width: 37, height: 23, channels: channels, bitDepth: bitDepth, seed: UInt64(bitDepth * 10 + channels))
        for filter in PNGFilter.allCases {
            let decoded = try ImageDecoder.decode(ImageEncoder.png(image, compressionLevel: 1, filter: filter))
            #expect(decoded == image, "filter \(filter)")
        }
        #expect(try ImageDecoder.decode(ImageEncoder.png(image, compressionLevel: 9)) == image)
        #expect(try ImageDecoder.decode(ImageEncoder.png(image, compressionLevel: 0)) == image)
    }

    @Test("16-bit PNG samples are written big-endian as the format requires")
    func pngByteOrder() throws {
        let image = Image(width: 1, height: 1, channels: 1, pixels16: [0x1234])
        let png = [UInt8](try ImageEncoder.png(image, compressionLevel: 0, filter: .none))
        // Stored (level 0) deflate: the filter byte 0 is followed by the raw sample bytes.
        #expect(png.indices.contains { png[$0] == 0x00 && $0 + 2 < png.count && png[$0 + 1] == 0x12 && png[$0 + 2] == 0x34 })
    }

    @Test("JPEG round trip stays close; alpha and 16-bit are refused")
    func jpegRoundTrip() throws {
        let photo = TestImages.gradient(width: 96, height: 64)
        let decoded = try ImageDecoder.decode(ImageEncoder.jpeg(photo, quality: 95))
        #expect(decoded.width == 96 && decoded.height == 64 && decoded.channels == 3)
        let (count, maxDiff) = TestImages.difference(decoded, photo)
        #expect(maxDiff <= 8, "max diff \(maxDiff), \(count) samples differ")
        let grey = Image(width: 16, height: 16, channels: 1, fill: 100)
        #expect(try ImageDecoder.decode(ImageEncoder.jpeg(grey)).channels == 1)
        #expect(throws: ImagingError.unsupportedLayout(format: .jpeg, channels: 4, bitDepth: 8)) {
            try ImageEncoder.jpeg(Image(width: 4, height: 4, channels: 4))
        }
        #expect(throws: ImagingError.self) { try ImageEncoder.jpeg(Image(width: 4, height: 4, channels: 3, bitDepth: 16)) }
        #expect(throws: ImagingError.self) { try ImageEncoder.jpeg(photo, quality: 0) }
    }

    @Test("low bit depth grey and palette PNGs decode to 8-bit samples")
    func lowBitDepthPNG() throws {
        // 1-bit grey 8x2: row 0 = 10110000, row 1 = 01001111.
        let oneBit = try SPNGWriter.write(width: 8, height: 2, bitDepth: 1, colorType: 0, rows: [0b1011_0000, 0b0100_1111])
        let grey = try ImageDecoder.decode(oneBit)
        #expect(grey.channels == 1 && grey.bitDepth == 8)
        #expect(grey.pixels8 == [255, 0, 255, 255, 0, 0, 0, 0, 0, 255, 0, 0, 255, 255, 255, 255])
        // 2-bit palette with a transparent entry.
        let palette = try SPNGWriter.write(width: 4, height: 1, bitDepth: 2, colorType: 3, rows: [0b00_01_10_11],
                                           palette: [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 8, 7)], alpha: [255, 128])
        let rgba = try ImageDecoder.decode(palette)
        #expect(rgba.channels == 4)
        #expect(rgba.pixels8 == [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 255, 9, 8, 7, 255])
    }

    @Test("PNG eXIf orientation is applied")
    func pngExif() throws {
        let rows: [UInt8] = [10, 20, 30, 40, 50, 60]  // 3x2 grey
        let data = try SPNGWriter.write(width: 3, height: 2, bitDepth: 8, colorType: 0, rows: rows, exif: ExifSegment.tiff(orientation: 6, bigEndian: false))
        let image = try ImageDecoder.decode(data)
        #expect(image.width == 2 && image.height == 3)
        #expect(image.pixels8 == [40, 10, 50, 20, 60, 30])
        #expect(try ImageDecoder.decode(data, applyOrientation: false).pixels8 == rows)
    }

    /// Measures libspng encode time per level / filter on a ~1.6 MP photo (set IMAGING_BENCH=1).
    @Test("PNG encode benchmark", .enabled(if: ProcessInfo.processInfo.environment["IMAGING_BENCH"] != nil && Fixtures.available("images/02.png")))
    func pngBenchmark() throws {
        let photo = try TestImages.load("images/02.png").droppingAlpha().resized(width: 1548, height: 1036)
        for (mode, w, h) in [(Interpolation.linear, 3096, 2072), (.area, 774, 518), (.area, 1500, 1000), (.lanczos4, 774, 518)] {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = photo.resized(width: w, height: h, interpolation: mode)
            print("resize \(mode) to \(w)x\(h): \(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) ms")
        }
        print("PNG encode of \(photo.width)x\(photo.height) RGB (\(photo.pixelCount) px):")
        for filter in [PNGFilter.none, .up, .paeth, .adaptive] {
            for level in ProcessInfo.processInfo.environment["IMAGING_BENCH"] == "full" ? [0, 1, 2, 3, 6, 9] : [1, 2, 3] {
                var best = Double.infinity, size = 0
                for _ in 0..<3 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    size = try ImageEncoder.png(photo, compressionLevel: level, filter: filter).count
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                print(String(format: "  filter %-8@ level %d: %7.1f ms  %8d bytes (%.2f bytes/px)", "\(filter)" as NSString, level, best, size, Double(size) / Double(photo.pixelCount)))
            }
        }
    }
}

/// Builds PNG files with libspng directly, for layouts `ImageEncoder` never writes.
enum SPNGWriter {
    struct Failure: Error { let code: Int32 }

    static func write(width: Int, height: Int, bitDepth: Int, colorType: Int, rows: [UInt8],
                      palette: [(UInt8, UInt8, UInt8)] = [], alpha: [UInt8] = [], exif: [UInt8]? = nil) throws -> Data {
        guard let ctx = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else { throw Failure(code: -100) }
        defer { spng_ctx_free(ctx) }
        func run(_ code: Int32) throws { if code != 0 { throw Failure(code: code) } }
        try run(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1))
        var ihdr = spng_ihdr()
        ihdr.width = UInt32(width); ihdr.height = UInt32(height)
        ihdr.bit_depth = UInt8(bitDepth); ihdr.color_type = UInt8(colorType)
        try run(spng_set_ihdr(ctx, &ihdr))
        if !palette.isEmpty {
            var plte = spng_plte()
            plte.n_entries = UInt32(palette.count)
            withUnsafeMutableBytes(of: &plte.entries) { raw in
                let entries = raw.bindMemory(to: spng_plte_entry.self)
                for (i, c) in palette.enumerated() { entries[i] = spng_plte_entry(red: c.0, green: c.1, blue: c.2, alpha: 255) }
            }
            try run(spng_set_plte(ctx, &plte))
        }
        if !alpha.isEmpty {
            var trns = spng_trns()
            trns.n_type3_entries = UInt32(alpha.count)
            withUnsafeMutableBytes(of: &trns.type3_alpha) { raw in for (i, a) in alpha.enumerated() { raw[i] = a } }
            try run(spng_set_trns(ctx, &trns))
        }
        var exifBytes = exif.map { $0.map { CChar(bitPattern: $0) } } ?? []
        if exif != nil {
            try exifBytes.withUnsafeMutableBufferPointer { buffer in
                var chunk = spng_exif(length: buffer.count, data: buffer.baseAddress)
                try run(spng_set_exif(ctx, &chunk))
            }
        }
        // SPNG_FMT_PNG expects rows exactly as stored (packed for low bit depths).
        try rows.withUnsafeBytes { try run(spng_encode_image(ctx, $0.baseAddress, $0.count, Int32(SPNG_FMT_PNG.rawValue), Int32(SPNG_ENCODE_FINALIZE.rawValue))) }
        var length = 0, error: Int32 = 0
        guard let buffer = spng_get_png_buffer(ctx, &length, &error) else { throw Failure(code: error) }
        defer { free(buffer) }
        return Data(bytes: buffer, count: length)
    }
}
