/// The container formats the decoder recognises by their leading bytes.
package enum ImageFormat: String, Sendable, CustomStringConvertible {
    case jpeg = "JPEG", png = "PNG", webp = "WebP"

    package var description: String { rawValue }

    /// The format announced by the first bytes, or nil. Only magic numbers are looked at, so a
    /// match says nothing about whether the rest is valid.
    package static func sniff<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> ImageFormat? {
        let head = Array(bytes.prefix(12))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.count >= 12, head[0..<4].elementsEqual("RIFF".utf8), head[8..<12].elementsEqual("WEBP".utf8) {
            return .webp
        }
        return nil
    }

    /// A name for a few other formats clients commonly send, so the error can say what arrived.
    static func otherFormatName<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String? {
        let head = Array(bytes.prefix(12))
        if head.starts(with: Array("GIF8".utf8)) { return "GIF" }
        if head.starts(with: [0x42, 0x4D]) { return "BMP" }
        if head.starts(with: [0x49, 0x49, 0x2A, 0x00]) || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if head.count >= 12, head[4..<8].elementsEqual("ftyp".utf8) {
            let brand = String(decoding: head[8..<12], as: UTF8.self)
            return brand.hasPrefix("avi") ? "AVIF" : brand.hasPrefix("he") || brand.hasPrefix("mif") ? "HEIF" : "ISO media"
        }
        return nil
    }
}
