import HTTPTypes

/// The id a request is known by in its `X-Request-Id` response header, its error body and its log
/// lines: the client's own `X-Request-Id` when it is a plain token (1 to 128 characters of
/// `A-Z a-z 0-9 . _ : -`, so it cannot break a header, a log line or a label), else a new one.
enum RequestIdentifier {
    static let maxLength = 128

    /// The client's id if it is sane, else a new one.
    static func resolve(_ header: String?) -> String {
        if let header, isSane(header) { return header }
        return generate()
    }

    static func isSane(_ id: String) -> Bool {
        (1...maxLength).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// 32 lowercase hex digits from 16 random bytes.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(32)
        for _ in 0..<16 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let requestId = HTTPField.Name("X-Request-Id")!
}
