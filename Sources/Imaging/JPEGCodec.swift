import CTurboJPEG
import Foundation

/// JPEG through TurboJPEG (libjpeg-turbo), the library OpenCV's `imread` uses: default flags mean the
/// accurate integer DCT and fancy (smooth) chroma upsampling, i.e. the same pixels as `cv2.imread`.
enum JPEGCodec {
    struct Header {
        let width: Int, height: Int, colorspace: Int32
    }

    static func header(_ data: Data) throws -> Header {
        guard let handle = tjInitDecompress() else { throw ImagingError.corrupt(format: .jpeg, detail: "cannot create a TurboJPEG decoder") }
        defer { tjDestroy(handle) }
        return try header(data, handle: handle)
    }

    private static func header(_ data: Data, handle: tjhandle) throws -> Header {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let status = data.withUnsafeBytes { raw in
            tjDecompressHeader3(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count),
                                &width, &height, &subsampling, &colorspace)
        }
        guard status == 0 else { throw failure(handle, data: data) }
        guard width > 0, height > 0 else { throw ImagingError.corrupt(format: .jpeg, detail: "zero image size") }
        return Header(width: Int(width), height: Int(height), colorspace: colorspace)
    }

    /// Decodes to grey (1 channel) for greyscale JPEGs and RGB otherwise; CMYK/YCCK files are converted
    /// to RGB with OpenCV's formula. EXIF orientation is *not* applied here (see `ImageDecoder`).
    static func decode(_ data: Data, maxPixels: Int?) throws -> Image {
        guard let handle = tjInitDecompress() else { throw ImagingError.corrupt(format: .jpeg, detail: "cannot create a TurboJPEG decoder") }
        defer { tjDestroy(handle) }
        let info = try header(data, handle: handle)
        try PixelLimit.check(width: info.width, height: info.height, maxPixels: maxPixels)

        let format: TJPF, channels: Int
        switch info.colorspace {
        case Int32(TJCS_GRAY.rawValue): (format, channels) = (TJPF_GRAY, 1)
        case Int32(TJCS_CMYK.rawValue), Int32(TJCS_YCCK.rawValue): (format, channels) = (TJPF_CMYK, 4)
        default: (format, channels) = (TJPF_RGB, 3)
        }
        var pixels = [UInt8](repeating: 0, count: info.width * info.height * channels)
        // Scan-count limiting guards against progressive "scan bombs" that take minutes to decode.
        let flags = TJFLAG_LIMITSCANS
        let status = data.withUnsafeBytes { raw in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), out.baseAddress,
                              Int32(info.width), 0, Int32(info.height), Int32(format.rawValue), flags)
            }
        }
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
            // libjpeg pads a premature end with grey and only warns; a partial photo is not a valid input.
            if !isWarning || message.contains("Premature end") {
                throw failure(handle, data: data, message: message)
            }
        }
        if channels == 4 {
            return Image(width: info.width, height: info.height, channels: 3, pixels8: cmykToRGB(pixels))
        }
        return Image(width: info.width, height: info.height, channels: channels, pixels8: pixels)
    }

    /// OpenCV's `icvCvt_CMYK2BGR_8u_C4C3R` (libjpeg delivers Adobe-style inverted CMYK).
    private static func cmykToRGB(_ cmyk: [UInt8]) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: cmyk.count / 4 * 3)
        for p in 0..<(cmyk.count / 4) {
            let k = Int(cmyk[4 * p + 3])
            for c in 0..<3 {
                rgb[3 * p + c] = UInt8(k - (((255 - Int(cmyk[4 * p + c])) * k) >> 8))
            }
        }
        return rgb
    }

    private static func failure(_ handle: tjhandle, data: Data, message: String? = nil) -> ImagingError {
        let text = message ?? String(cString: tjGetErrorStr2(handle))
        let lacksEnd = data.count < 2 || data[data.endIndex - 2] != 0xFF || data[data.endIndex - 1] != 0xD9
        if text.contains("Premature end") || (lacksEnd && (text.contains("insufficient") || text.contains("end of data"))) {
            return .truncated(format: .jpeg, detail: "libjpeg-turbo: \(text)")
        }
        if text.contains("Unsupported") || text.contains("precision") {
            return .unsupportedFeature(format: .jpeg, detail: "libjpeg-turbo: \(text)")
        }
        return .corrupt(format: .jpeg, detail: "libjpeg-turbo: \(text)")
    }

    /// Baseline JPEG of an 8-bit grey or RGB image. `chromaSubsampling420` matches libjpeg's (and so
    /// `cv2.imwrite`'s) default; turn it off for 4:4:4 when colour edges matter more than size.
    static func encode(_ image: Image, quality: Int, chromaSubsampling420: Bool) throws -> Data {
        guard image.bitDepth == 8, image.channels == 1 || image.channels == 3 else {
            throw ImagingError.unsupportedLayout(format: .jpeg, channels: image.channels, bitDepth: image.bitDepth)
        }
        guard (1...100).contains(quality) else { throw ImagingError.invalidArgument("JPEG quality \(quality) is not in 1...100") }
        guard let handle = tjInitCompress() else { throw ImagingError.encodingFailed(format: .jpeg, detail: "cannot create a TurboJPEG encoder") }
        defer { tjDestroy(handle) }
        let grey = image.channels == 1
        let format = grey ? TJPF_GRAY : TJPF_RGB
        let sampling = grey ? TJSAMP_GRAY : (chromaSubsampling420 ? TJSAMP_420 : TJSAMP_444)
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels8.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                        &output, &size, Int32(sampling.rawValue), Int32(quality), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw ImagingError.encodingFailed(format: .jpeg, detail: String(cString: tjGetErrorStr2(handle)))
        }
        return Data(bytes: output, count: Int(size))
    }
}
