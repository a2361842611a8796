import Foundation

/// Decodes a JSON image entry: plain base64 or a data URI (`data:image/png;base64,...`). Whitespace
/// and line breaks are ignored (encoders wrap lines), missing padding is restored, and the URL-safe
/// alphabet is accepted, because all of these occur in the wild and none is ambiguous.
enum Base64Image {
    static func decode(_ text: String, field: String) throws -> Data {
        var payload = Substring(text)
        if payload.prefix(5).lowercased() == "data:" {
            guard let comma = payload.firstIndex(of: ",") else {
                throw ServiceError.invalidBase64(field: field, reason: "the data URI has no ',' before its data")
            }
            let header = payload[payload.index(payload.startIndex, offsetBy: 5)..<comma].lowercased()
            guard header.split(separator: ";").contains("base64") else {
                throw ServiceError.invalidBase64(field: field, reason: "the data URI is not base64-encoded (';base64' missing)")
            }
            payload = payload[payload.index(after: comma)...]
        }
        var characters = [UInt8]()
        characters.reserveCapacity(payload.utf8.count)
        for byte in payload.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            case UInt8(ascii: "-"): characters.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): characters.append(UInt8(ascii: "/"))
            default: characters.append(byte)
            }
        }
        guard !characters.isEmpty else { throw ServiceError.invalidBase64(field: field, reason: "it is empty") }
        while characters.count % 4 != 0 && characters.count % 4 != 1 { characters.append(UInt8(ascii: "=")) }
        guard let data = Data(base64Encoded: Data(characters)), !data.isEmpty else {
            throw ServiceError.invalidBase64(field: field, reason: "it contains characters outside the base64 alphabet or has the wrong length")
        }
        return data
    }
}
