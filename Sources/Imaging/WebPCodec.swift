import CWebP
import Foundation

/// Still WebP (lossy or lossless) through libwebp; decodes to RGB, or RGBA when the file has alpha.
enum WebPCodec {
    static func decode(_ data: Data, maxPixels: Int?) throws -> Image {
        try data.withUnsafeBytes { raw -> Image in
            let bytes = raw.bindMemory(to: UInt8.self).baseAddress
            var features = WebPBitstreamFeatures()
            let status = WebPGetFeatures(bytes, raw.count, &features)
            guard status == VP8_STATUS_OK else { throw failure(status, data: raw) }
            guard features.has_animation == 0 else {
                throw ImagingError.unsupportedFeature(format: .webp, detail: "animated WebP is not supported")
            }
            let width = Int(features.width), height = Int(features.height)
            try PixelLimit.check(width: width, height: height, maxPixels: maxPixels)
            let channels = features.has_alpha != 0 ? 4 : 3
            var pixels = [UInt8](repeating: 0, count: width * height * channels)
            let decoded = pixels.withUnsafeMutableBufferPointer { out in
                channels == 4
                    ? WebPDecodeRGBAInto(bytes, raw.count, out.baseAddress, out.count, Int32(width * 4))
                    : WebPDecodeRGBInto(bytes, raw.count, out.baseAddress, out.count, Int32(width * 3))
            }
            guard decoded != nil else {
                throw declaredLength(raw) > raw.count
                    ? ImagingError.truncated(format: .webp, detail: "libwebp: the data ends before the image (RIFF size \(declaredLength(raw)), got \(raw.count) bytes)")
                    : ImagingError.corrupt(format: .webp, detail: "libwebp could not decode the bitstream")
            }
            return Image(width: width, height: height, channels: channels, pixels8: pixels)
        }
    }

    static func size(_ data: Data) throws -> (width: Int, height: Int) {
        try data.withUnsafeBytes { raw in
            var features = WebPBitstreamFeatures()
            let status = WebPGetFeatures(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &features)
            guard status == VP8_STATUS_OK else { throw failure(status, data: raw) }
            return (Int(features.width), Int(features.height))
        }
    }

    /// Total length the RIFF header announces (8 + chunk size).
    private static func declaredLength(_ raw: UnsafeRawBufferPointer) -> Int {
        guard raw.count >= 8 else { return Int.max }
        return 8 + (0..<4).reduce(0) { $0 | Int(raw[4 + $1]) << (8 * $1) }
    }

    private static func failure(_ status: VP8StatusCode, data: UnsafeRawBufferPointer) -> ImagingError {
        switch status {
        case VP8_STATUS_NOT_ENOUGH_DATA:
            return .truncated(format: .webp, detail: "libwebp: not enough data")
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            return .unsupportedFeature(format: .webp, detail: "libwebp: unsupported feature")
        default:
            return .corrupt(format: .webp, detail: "libwebp: status \(status.rawValue)")
        }
    }

    /// `quality` nil = lossless. Accepts 8-bit RGB or RGBA.
    static func encode(_ image: Image, quality: Float?) throws -> Data {
        guard image.bitDepth == 8, image.channels == 3 || image.channels == 4 else {
            throw ImagingError.unsupportedLayout(format: .webp, channels: image.channels, bitDepth: image.bitDepth)
        }
        var output: UnsafeMutablePointer<UInt8>? = nil
        let w = Int32(image.width), h = Int32(image.height), stride = Int32(image.width * image.channels)
        let size = image.pixels8.withUnsafeBufferPointer { src -> Int in
            switch (image.channels, quality) {
            case (4, nil): WebPEncodeLosslessRGBA(src.baseAddress, w, h, stride, &output)
            case (4, let q?): WebPEncodeRGBA(src.baseAddress, w, h, stride, q, &output)
            case (_, nil): WebPEncodeLosslessRGB(src.baseAddress, w, h, stride, &output)
            case (_, let q?): WebPEncodeRGB(src.baseAddress, w, h, stride, q, &output)
            }
        }
        defer { if let output { WebPFree(output) } }
        guard size > 0, let output else { throw ImagingError.encodingFailed(format: .webp, detail: "libwebp returned no data") }
        return Data(bytes: output, count: size)
    }
}
