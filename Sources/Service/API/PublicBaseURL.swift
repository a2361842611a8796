import HTTPTypes
import Hummingbird
import Foundation

/// Where clients reach the service, for the absolute `image_url`s: the configured public base URL,
/// else the scheme and host the request came in on. Behind a proxy those are in
/// `X-Forwarded-Proto` / `X-Forwarded-Host` (or RFC 7239 `Forwarded`), which take precedence over
/// the `Host` the proxy used. Values that are not a plain scheme or host[:port] are ignored, so a
/// crafted header cannot inject anything but a host name into the URL.
enum PublicBaseURL {
    static func resolve(configured: String?, request: Request, fallbackHost: String) -> String {
        if let configured { return configured }
        let forwarded = request.headers[Self.forwarded].map(Self.parseForwarded) ?? [:]
        let scheme = [request.headers[Self.forwardedProto].map(Self.firstListItem), forwarded["proto"], request.head.scheme]
            .compactMap { $0?.lowercased() }
            .first { $0 == "http" || $0 == "https" } ?? "http"
        let host = [request.headers[Self.forwardedHost].map(Self.firstListItem), forwarded["host"], request.head.authority]
            .compactMap { $0 }
            .first(where: Self.isPlainHost) ?? fallbackHost
        return "\(scheme)://\(host)"
    }

    static let forwarded = HTTPField.Name("Forwarded")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!

    /// The first entry of a comma-separated header: the hop nearest the client.
    static func firstListItem(_ value: String) -> String {
        String(value.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
    }

    /// `for=1.2.3.4;proto=https;host=example.com, for=...`: the first element's parameters.
    static func parseForwarded(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in firstListItem(value).split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            var item = parts[1].trimmingCharacters(in: .whitespaces)
            if item.count >= 2, item.hasPrefix("\""), item.hasSuffix("\"") { item = String(item.dropFirst().dropLast()) }
            result[parts[0].trimmingCharacters(in: .whitespaces).lowercased()] = item
        }
        return result
    }

    /// A host name, IPv4 or bracketed IPv6 address, optionally with a port.
    static func isPlainHost(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 255 else { return false }
        return host.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isASCIIHexDigit || ("g"..."z").contains(scalar) || ("G"..."Z").contains(scalar)
                || ".-:[]_".unicodeScalars.contains(scalar)
        }
    }
}
