package import Foundation

/// Entry point for untrusted image bytes: recognises the format from its magic number, enforces the
/// pixel limit from the header before any pixel buffer exists, decodes, and applies EXIF orientation
/// (JPEG APP1 and PNG eXIf), so callers always receive the upright image `cv2.imread` would give.
package enum ImageDecoder {
    /// Decodes JPEG, PNG (1/2/4/8/16-bit, grey/RGB/palette/alpha) or still WebP.
    /// - Parameter maxPixels: refuse images whose header announces more pixels (`ImagingError.tooLarge`).
    /// - Parameter applyOrientation: set false to get the stored (sensor-order) pixels.
    package static func decode(_ data: Data, maxPixels: Int? = nil, applyOrientation: Bool = true) throws -> Image {
        switch ImageFormat.sniff(data) {
        case .jpeg:
            let image = try JPEGCodec.decode(data, maxPixels: maxPixels)
            guard applyOrientation, let orientation = ExifOrientation.fromJPEG(Array(data.prefix(1 << 20))) else { return image }
            return image.applying(orientation)
        case .png:
            let (image, exif) = try PNGCodec.decode(data, maxPixels: maxPixels)
            guard applyOrientation, let exif, let orientation = ExifOrientation.fromTIFF(exif) else { return image }
            return image.applying(orientation)
        case .webp:
            return try WebPCodec.decode(data, maxPixels: maxPixels)
        case nil:
            throw ImagingError.unsupportedFormat(detected: ImageFormat.otherFormatName(data))
        }
    }

    /// The format the leading bytes announce, or nil.
    package static func format(of data: Data) -> ImageFormat? { ImageFormat.sniff(data) }

    /// Format and stored size (before EXIF orientation) from the header alone, without decoding:
    /// lets a server answer 413 for an oversized upload before doing any work.
    package static func probe(_ data: Data) throws -> (format: ImageFormat, width: Int, height: Int) {
        switch ImageFormat.sniff(data) {
        case .jpeg:
            let header = try JPEGCodec.header(data)
            return (.jpeg, header.width, header.height)
        case .png:
            let bytes = [UInt8](data.prefix(24))
            guard bytes.count == 24, bytes[12..<16].elementsEqual("IHDR".utf8) else {
                throw ImagingError.truncated(format: .png, detail: "no IHDR chunk")
            }
            func u32(_ i: Int) -> Int { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
            return (.png, u32(16), u32(20))
        case .webp:
            let size = try WebPCodec.size(data)
            return (.webp, size.width, size.height)
        case nil:
            throw ImagingError.unsupportedFormat(detected: ImageFormat.otherFormatName(data))
        }
    }
}

/// Writes images for responses and fixtures.
package enum ImageEncoder {
    /// Default zlib level for PNG output. Results are written on the request path, and levels above
    /// ~2 cost several times the time for a few percent of size (see the benchmark in the tests).
    package static let defaultPNGCompressionLevel = 2
    /// Default filter choice for PNG output: see `PNGFilter`.
    package static let defaultPNGFilter = PNGFilter.up

    /// PNG of any layout the `Image` type holds (8/16-bit, 1–4 channels), lossless.
    package static func png(_ image: Image, compressionLevel: Int = defaultPNGCompressionLevel,
                           filter: PNGFilter = defaultPNGFilter) throws -> Data {
        try PNGCodec.encode(image, compressionLevel: compressionLevel, filter: filter)
    }

    /// JPEG of an 8-bit grey or RGB image (strip alpha first; 16-bit must be reduced first).
    package static func jpeg(_ image: Image, quality: Int = 95, chromaSubsampling420: Bool = true) throws -> Data {
        try JPEGCodec.encode(image, quality: quality, chromaSubsampling420: chromaSubsampling420)
    }

    /// WebP of an 8-bit RGB or RGBA image; `quality` nil writes lossless.
    package static func webp(_ image: Image, quality: Float? = nil) throws -> Data {
        try WebPCodec.encode(image, quality: quality)
    }
}
