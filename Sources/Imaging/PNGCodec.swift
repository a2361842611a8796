import CSPNG
import Foundation

/// PNG through libspng. Decoding keeps the file's bit depth and channel layout (palette images
/// become RGB, a tRNS chunk becomes an alpha channel); gamma and colour chunks are ignored, as
/// OpenCV ignores them.
enum PNGCodec {
    /// Metadata chunks larger than this are refused; image data is bounded by the pixel limit instead.
    private static let chunkLimit = 64 << 20

    static func decode(_ data: Data, maxPixels: Int?) throws -> (image: Image, exif: [UInt8]?) {
        guard let ctx = spng_ctx_new(0) else { throw ImagingError.corrupt(format: .png, detail: "cannot create a libspng decoder") }
        defer { spng_ctx_free(ctx) }
        return try data.withUnsafeBytes { raw -> (Image, [UInt8]?) in
            try check(spng_set_png_buffer(ctx, raw.baseAddress, raw.count))
            try check(spng_set_chunk_limits(ctx, chunkLimit, chunkLimit))
            var ihdr = spng_ihdr()
            try check(spng_get_ihdr(ctx, &ihdr))
            let width = Int(ihdr.width), height = Int(ihdr.height)
            try PixelLimit.check(width: width, height: height, maxPixels: maxPixels)

            var trns = spng_trns()
            let hasTRNS = spng_get_trns(ctx, &trns) == 0
            let wide = ihdr.bit_depth == 16
            let (format, channels): (spng_format, Int)
            switch Int(ihdr.color_type) {
            case Int(SPNG_COLOR_TYPE_GRAYSCALE.rawValue):
                (format, channels) = hasTRNS ? (wide ? SPNG_FMT_GA16 : SPNG_FMT_GA8, 2) : (wide ? SPNG_FMT_PNG : SPNG_FMT_G8, 1)
            case Int(SPNG_COLOR_TYPE_TRUECOLOR.rawValue):
                (format, channels) = hasTRNS ? (wide ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8, 4) : (wide ? SPNG_FMT_PNG : SPNG_FMT_RGB8, 3)
            case Int(SPNG_COLOR_TYPE_INDEXED.rawValue):
                (format, channels) = hasTRNS ? (SPNG_FMT_RGBA8, 4) : (SPNG_FMT_RGB8, 3)
            case Int(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue):
                // libspng's GA formats only apply to grey + tRNS; the native layout is already GA.
                (format, channels) = (SPNG_FMT_PNG, 2)
            default:
                (format, channels) = (wide ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8, 4)
            }
            let fmt = Int32(format.rawValue)
            let flags = hasTRNS ? Int32(SPNG_DECODE_TRNS.rawValue) : 0

            var exif: [UInt8]? = nil
            var chunk = spng_exif()
            if spng_get_exif(ctx, &chunk) == 0, let bytes = chunk.data, chunk.length > 0 {
                exif = bytes.withMemoryRebound(to: UInt8.self, capacity: chunk.length) { Array(UnsafeBufferPointer(start: $0, count: chunk.length)) }
            }

            var size = 0
            try check(spng_decoded_image_size(ctx, fmt, &size))
            let count = width * height * channels
            let image: Image
            if wide {
                guard size == count * 2 else { throw ImagingError.corrupt(format: .png, detail: "unexpected decoded size \(size)") }
                var pixels = [UInt16](repeating: 0, count: count)
                try pixels.withUnsafeMutableBytes { try check(spng_decode_image(ctx, $0.baseAddress, size, fmt, flags)) }
                image = Image(width: width, height: height, channels: channels, pixels16: pixels)
            } else {
                guard size == count else { throw ImagingError.corrupt(format: .png, detail: "unexpected decoded size \(size)") }
                var pixels = [UInt8](repeating: 0, count: count)
                try pixels.withUnsafeMutableBytes { try check(spng_decode_image(ctx, $0.baseAddress, size, fmt, flags)) }
                image = Image(width: width, height: height, channels: channels, pixels8: pixels)
            }
            return (image, exif)
        }
    }

    private static func check(_ status: Int32) throws {
        guard status != 0 else { return }
        let message = "libspng: " + String(cString: spng_strerror(status))
        switch status {
        case Int32(SPNG_IO_EOF.rawValue), Int32(SPNG_EOF.rawValue), Int32(SPNG_EIDAT_TOO_SHORT.rawValue):
            throw ImagingError.truncated(format: .png, detail: message)
        case Int32(SPNG_EWIDTH.rawValue), Int32(SPNG_EHEIGHT.rawValue),
             Int32(SPNG_EUSER_WIDTH.rawValue), Int32(SPNG_EUSER_HEIGHT.rawValue):
            throw ImagingError.unsupportedFeature(format: .png, detail: message)
        default:
            throw ImagingError.corrupt(format: .png, detail: message)
        }
    }

    static func encode(_ image: Image, compressionLevel: Int, filter: PNGFilter) throws -> Data {
        guard (0...9).contains(compressionLevel) else {
            throw ImagingError.invalidArgument("PNG compression level \(compressionLevel) is not in 0...9")
        }
        guard let ctx = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw ImagingError.encodingFailed(format: .png, detail: "cannot create a libspng encoder")
        }
        defer { spng_ctx_free(ctx) }
        func run(_ status: Int32) throws {
            if status != 0 { throw ImagingError.encodingFailed(format: .png, detail: "libspng: " + String(cString: spng_strerror(status))) }
        }
        let colorType: spng_color_type = switch image.channels {
        case 1: SPNG_COLOR_TYPE_GRAYSCALE
        case 2: SPNG_COLOR_TYPE_GRAYSCALE_ALPHA
        case 3: SPNG_COLOR_TYPE_TRUECOLOR
        default: SPNG_COLOR_TYPE_TRUECOLOR_ALPHA
        }
        var ihdr = spng_ihdr()
        ihdr.width = UInt32(image.width)
        ihdr.height = UInt32(image.height)
        ihdr.bit_depth = UInt8(image.bitDepth)
        ihdr.color_type = UInt8(colorType.rawValue)
        try run(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1))
        try run(spng_set_ihdr(ctx, &ihdr))
        try run(spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, Int32(compressionLevel)))
        try run(spng_set_option(ctx, SPNG_FILTER_CHOICE, filter.spngChoice))
        let fmt = Int32(SPNG_FMT_PNG.rawValue), finalize = Int32(SPNG_ENCODE_FINALIZE.rawValue)
        if image.bitDepth == 8 {
            try image.pixels8.withUnsafeBytes { try run(spng_encode_image(ctx, $0.baseAddress, $0.count, fmt, finalize)) }
        } else {
            try image.pixels16.withUnsafeBytes { try run(spng_encode_image(ctx, $0.baseAddress, $0.count, fmt, finalize)) }
        }
        var length = 0, error: Int32 = 0
        guard let buffer = spng_get_png_buffer(ctx, &length, &error) else { try run(error); throw ImagingError.encodingFailed(format: .png, detail: "no output") }
        defer { free(buffer) }
        return Data(bytes: buffer, count: length)
    }
}

/// Which PNG row filters the encoder may choose from. Filtering costs time per row; on photos
/// `.up` / `.paeth` alone compress nearly as well as trying all five.
package enum PNGFilter: Sendable, CaseIterable {
    case none, sub, up, average, paeth, adaptive

    var spngChoice: Int32 {
        let choice: spng_filter_choice = switch self {
        case .none: SPNG_FILTER_CHOICE_NONE
        case .sub: SPNG_FILTER_CHOICE_SUB
        case .up: SPNG_FILTER_CHOICE_UP
        case .average: SPNG_FILTER_CHOICE_AVG
        case .paeth: SPNG_FILTER_CHOICE_PAETH
        case .adaptive: SPNG_FILTER_CHOICE_ALL
        }
        return Int32(choice.rawValue)
    }
}
