/// Why an image could not be decoded, encoded or converted. Cases carry what a client developer
/// needs to act on (which codec complained and how, which limit was hit); the service maps them to
/// HTTP statuses (`tooLarge` → 413, the rest of decoding → 400).
package enum ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The bytes are not one of the formats this build decodes.
    case unsupportedFormat(detected: String?)
    /// The format is recognised but this variant is not handled (e.g. animated WebP, 12-bit JPEG).
    case unsupportedFeature(format: ImageFormat, detail: String)
    /// The codec rejected the data as malformed.
    case corrupt(format: ImageFormat, detail: String)
    /// The data ends before the image does.
    case truncated(format: ImageFormat, detail: String)
    /// The header announces more pixels than the caller allows; nothing was allocated.
    case tooLarge(width: Int, height: Int, maxPixels: Int)
    /// The image cannot be written in the requested format (e.g. alpha or 16-bit into JPEG).
    case unsupportedLayout(format: ImageFormat, channels: Int, bitDepth: Int)
    /// A codec failed while encoding.
    case encodingFailed(format: ImageFormat, detail: String)
    /// An argument is out of range (sizes, scale factors, quality).
    case invalidArgument(String)

    package var description: String {
        switch self {
        case .unsupportedFormat(let detected):
            let what = detected.map { "\($0) data" } ?? "data of an unknown format"
            return "unsupported image format: got \(what); supported formats are JPEG, PNG and WebP"
        case .unsupportedFeature(let format, let detail):
            return "unsupported \(format) image: \(detail)"
        case .corrupt(let format, let detail):
            return "corrupt \(format) data: \(detail)"
        case .truncated(let format, let detail):
            return "truncated \(format) data: \(detail)"
        case .tooLarge(let width, let height, let maxPixels):
            return "image of \(width)x\(height) = \(width * height) pixels exceeds the limit of \(maxPixels) pixels"
        case .unsupportedLayout(let format, let channels, let bitDepth):
            return "cannot write a \(channels)-channel \(bitDepth)-bit image as \(format)"
        case .encodingFailed(let format, let detail):
            return "\(format) encoding failed: \(detail)"
        case .invalidArgument(let detail):
            return "invalid argument: \(detail)"
        }
    }
}
