import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Service

/// `GET /` and `GET /web/{name}`: the page and its files, served from the binary with the right
/// types, a validator, and 404 for anything else.
@Suite("Web page route")
struct WebPageRouteTests {
    /// The `web/...` files the page names in `src` and `href` attributes.
    static func referencedFiles(in html: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"(?:src|href)="web/([^"]+)""#)
        let range = NSRange(html.startIndex..., in: html)
        return pattern.matches(in: html, range: range).map { String(html[Range($0.range(at: 1), in: html)!]) }
    }

    /// The modules a script imports (`from './x.js'`).
    static func importedModules(in script: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"from '\./([^']+)'"#)
        let range = NSRange(script.startIndex..., in: script)
        return pattern.matches(in: script, range: range).map { String(script[Range($0.range(at: 1), in: script)!]) }
    }

    @Test("GET / is the page: HTML, a content security policy, the licence notice; HEAD answers without a body")
    func page() async throws {
        try await ServiceHarness().test { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(response.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"))
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
            let html = response.text
            #expect(html.hasPrefix("<!doctype html>"))
            #expect(html.contains("NTU S-Lab License 1.0") && html.contains("non-commercial use only"))
            #expect(Self.referencedFiles(in: html).contains("app.js"))

            let head = try await client.execute(uri: "/", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
        }
    }

    @Test("every file the page and its scripts reference is served, with its type")
    func everyReferencedFileIsServed() async throws {
        try await ServiceHarness().test { client in
            let html = try await client.execute(uri: "/", method: .get).text
            var pending = Self.referencedFiles(in: html)
            var seen = Set<String>()
            while let name = pending.popLast() {
                guard seen.insert(name).inserted else { continue }
                let response = try await client.execute(uri: "/web/\(name)", method: .get)
                #expect(response.status == .ok, "web/\(name)")
                let expected = switch (name as NSString).pathExtension {
                case "js": "text/javascript; charset=utf-8"
                case "css": "text/css; charset=utf-8"
                case "svg": "image/svg+xml"
                default: "?"
                }
                #expect(response.headers[.contentType] == expected, "web/\(name)")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.body.readableBytes > 0)
                if name.hasSuffix(".js") { pending += Self.importedModules(in: response.text) }
            }
            // The page, its style sheet and icon, the main script and the four modules it imports.
            #expect(seen == ["style.css", "icon.svg", "app.js", "api.js", "preflight.js", "compare.js", "zip.js"])
            #expect(seen == Set(WebPageAsset.named.keys))
        }
    }

    @Test("the page's files name no other site: no CDN, no fonts or scripts from elsewhere")
    func noOtherOrigin() throws {
        let pattern = try NSRegularExpression(pattern: #"https?://[^\s'"`)<>]+"#)
        for (name, asset) in WebPageAsset.named.merging(["index.html": WebPageAsset.page]) { $1 } {
            let text = String(decoding: asset.bytes, as: UTF8.self)
            let urls = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
                .map { String(text[Range($0.range, in: text)!]) }
                // The SVG namespace is a name, not an address; the fallback is for a page opened from a file.
                .filter { $0 != "http://www.w3.org/2000/svg" && $0 != "http://localhost:8080" }
            #expect(urls.isEmpty, "\(name) names \(urls)")
        }
    }

    @Test("If-None-Match with the current tag answers 304; a changed tag gets the file")
    func revalidation() async throws {
        try await ServiceHarness().test { client in
            let first = try await client.execute(uri: "/web/app.js", method: .get)
            let tag = try #require(first.headers[.eTag])
            let again = try await client.execute(uri: "/web/app.js", method: .get, headers: [.ifNoneMatch: tag])
            #expect(again.status == .notModified && again.body.readableBytes == 0)
            let stale = try await client.execute(uri: "/web/app.js", method: .get, headers: [.ifNoneMatch: "\"0\""])
            #expect(stale.status == .ok && stale.body.readableBytes == first.body.readableBytes)
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.headers[.eTag] != tag)
        }
    }

    @Test("an unknown file under /web/ is 404 with the error JSON", arguments: ["/web/nothing.js", "/web/index.html", "/web/", "/web/app.js.map", "/web/..%2FPackage.swift"])
    func unknownFile(path: String) async throws {
        try await ServiceHarness().test { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .notFound)
            #expect(response.json["status"] as? String == "error")
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        }
    }
}
