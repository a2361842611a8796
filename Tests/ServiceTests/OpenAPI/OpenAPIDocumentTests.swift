import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport
@testable import Service

/// The OpenAPI document (`Sources/Service/OpenAPI/openapi.json`): valid OpenAPI 3.1, served as it
/// is kept, and listing exactly the routes the router has. What the server answers on each route is
/// checked against it by `SchemathesisTests`.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("openapi-spec-validator accepts the document as OpenAPI 3.1 (and refuses it without info.title)",
          .enabled(if: TestTools.available("openapi-spec-validator"), "openapi-spec-validator is not installed (scripts/setup.sh --test-tools)"))
    func validates() throws {
        let valid = try TestTools.run("openapi-spec-validator", ["--schema", "3.1", RepositoryOpenAPIDocument.file.path], timeout: .seconds(120))
        #expect(valid.status == 0 && valid.output.contains(": OK"), "\(valid.output)")

        // The same check on a copy that lacks a required field: the validator really reads the document.
        var broken = try RepositoryOpenAPIDocument().json
        var info = try #require(broken["info"] as? [String: Any])
        info["title"] = nil
        broken["info"] = info
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-openapi-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: broken).write(to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let invalid = try TestTools.run("openapi-spec-validator", ["--schema", "3.1", copy.path], timeout: .seconds(120))
        #expect(invalid.status != 0 && invalid.output.contains("title"), "\(invalid.output)")
    }

    @Test("GET /openapi.json is the repository's file byte for byte, as JSON with a validator; HEAD has no body; POST gets 405")
    func served() async throws {
        let document = try RepositoryOpenAPIDocument()
        try await ServiceHarness().test { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
            #expect(Data(response.body.readableBytesView) == document.bytes, "the served document differs from \(RepositoryOpenAPIDocument.file.path)")

            let etag = try #require(response.headers[.eTag])
            let revalidated = try await client.execute(uri: "/openapi.json", method: .get, headers: [.ifNoneMatch: etag])
            #expect(revalidated.status == .notModified && revalidated.body.readableBytes == 0)

            let head = try await client.execute(uri: "/openapi.json", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)

            let post = try await client.execute(uri: "/openapi.json", method: .post, body: ByteBuffer(string: "{}"))
            #expect(post.status == .methodNotAllowed && post.headers[.allow] == "GET, HEAD" && post.json["status"] as? String == "error")
        }
    }

    @Test("every route the router has is in the document and every operation is a route; other methods get 405 with Allow")
    func routesMatch() async throws {
        let document = try RepositoryOpenAPIDocument()
        // OPTIONS is answered by the CORS middleware on every path, not by routes.
        let documented = document.operations.filter { $0.method != "OPTIONS" }
        let harness = try ServiceHarness()
        let routed = Set(harness.service.makeRouter().routes.map {
            RepositoryOpenAPIDocument.Operation(method: $0.method.rawValue, path: $0.path.description)
        })

        let notRouted = documented.subtracting(routed).sorted()
        #expect(notRouted.isEmpty, "in the document but not routed: \(notRouted)")
        let routedPaths = Set(routed.map(\.path))
        let undocumentedPaths = routedPaths.subtracting(document.paths.keys).sorted()
        #expect(undocumentedPaths.isEmpty, "routed but not in the document: \(undocumentedPaths)")

        // A routed method the document does not list must be a refusal: 405 naming the documented
        // methods in Allow. The methods clients send are tried on every documented path.
        let usual: Set<String> = ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "QUERY"]
        let probes = Set(document.paths.keys).union(routedPaths).flatMap { path in
            usual.union(routed.filter { $0.path == path }.map(\.method)).subtracting(document.methods(on: path))
                .map { RepositoryOpenAPIDocument.Operation(method: $0, path: path) }
        }.sorted()
        try await harness.test { client in
            for probe in probes {
                let uri = Self.concretePath(probe.path)
                let response = try await client.execute(uri: uri, method: HTTPRequest.Method(probe.method)!, body: ByteBuffer())
                var allowed = document.methods(on: probe.path).subtracting(["OPTIONS"])
                if allowed.contains("GET") { allowed.insert("HEAD") }
                let allow = Set((response.headers[.allow] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                #expect(response.status == .methodNotAllowed && allow == allowed,
                        "\(probe.method) \(uri): \(response.status.code), Allow: \(response.headers[.allow] ?? "none"), documented: \(allowed.sorted())")
            }
        }
    }

    @Test("every path answers the CORS preflight the document lists for it")
    func preflightOnEveryPath() async throws {
        let document = try RepositoryOpenAPIDocument()
        let withoutPreflight = document.paths.keys.filter { !document.methods(on: $0).contains("OPTIONS") }.sorted()
        #expect(withoutPreflight.isEmpty, "paths without an OPTIONS operation: \(withoutPreflight)")
        try await ServiceHarness().test { client in
            for path in document.paths.keys.sorted() {
                let response = try await client.execute(uri: Self.concretePath(path), method: .options, headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type",
                ])
                #expect(response.status == .noContent && response.headers[.accessControlAllowOrigin] == "*", "OPTIONS \(path)")
            }
        }
    }

    @Test("the document's version is the service's, and its web page files are the ones served")
    func versionAndPageFiles() throws {
        let document = try RepositoryOpenAPIDocument()
        #expect(document.value(at: ["info", "version"]) as? String == ServiceInfo.version)
        let parameters = try #require(document.value(at: ["paths", "/web/{name}", "parameters"]) as? [[String: Any]])
        let names = parameters.first { $0["name"] as? String == "name" }.flatMap { ($0["schema"] as? [String: Any])?["enum"] as? [String] }
        #expect(Set(names ?? []) == Set(WebPageAsset.named.keys))
    }

    /// A path template with a sample value for each parameter (`{id}` -> `x`).
    static func concretePath(_ template: String) -> String {
        template.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x", options: .regularExpression)
    }
}
