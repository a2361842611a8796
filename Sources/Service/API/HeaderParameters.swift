import Foundation

/// A header value of the form `token; key=value; key="quoted value"` (Content-Type,
/// Content-Disposition), split into its lower-cased leading token and its parameters (keys
/// lower-cased, quotes and backslash escapes removed).
struct HeaderParameters: Equatable {
    var value: String
    var parameters: [String: String]

    init(_ header: String) {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in header {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "\"" {
                current.append(character)
                quoted.toggle()
            } else if character == ";" && !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        value = fields[0].trimmingCharacters(in: .whitespaces).lowercased()
        parameters = [:]
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "=") else { continue }
            let key = field[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var raw = field[field.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = String(raw.dropFirst().dropLast())
                var unescaped = ""
                var escape = false
                for character in raw {
                    if escape { unescaped.append(character); escape = false } else if character == "\\" { escape = true } else { unescaped.append(character) }
                }
                raw = unescaped
            }
            if parameters[key] == nil { parameters[key] = raw }
        }
    }

    /// The `filename*` (RFC 5987: `UTF-8''na%C3%AFve.png`) or plain `filename` parameter.
    var fileName: String? {
        if let extended = parameters["filename*"], let quote = extended.range(of: "''") {
            if let decoded = extended[quote.upperBound...].removingPercentEncoding { return decoded }
        }
        return parameters["filename"]
    }
}
