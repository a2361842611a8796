import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Service

@Suite("CORS")
struct CORSTests {
    @Test("preflight for POST with Content-Type succeeds on every route")
    func preflight() async throws {
        try await ServiceHarness().test { client in
            for uri in ["/api/process", "/api/health", "/static/results/x.png", "/anything"] {
                let response = try await client.execute(uri: uri, method: .options, headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type",
                ])
                #expect(response.status == .noContent, "\(uri)")
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("content-type") == true)
            }
            let bare = try await client.execute(uri: "/api/process", method: .options)
            #expect(bare.status == .noContent && bare.headers[.accessControlAllowHeaders] == "Content-Type")
        }
    }

    @Test("Access-Control-Allow-Origin: * on success, errors, health and static files, with or without Origin")
    func allowOrigin() async throws {
        try await ServiceHarness().test { client in
            for origin in ["https://app.example.com", nil] as [String?] {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let origin { headers[.origin] = origin }
                let ok = try await client.execute(uri: "/api/process", method: .post, headers: headers,
                                                  body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
                #expect(ok.status == .ok && ok.headers[.accessControlAllowOrigin] == "*")
                #expect(ok.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
                let path = try #require((ok.results.first?["image_url"] as? String).flatMap { URL(string: $0)?.path })
                let file = try await client.execute(uri: path, method: .get, headers: headers)
                #expect(file.status == .ok && file.headers[.accessControlAllowOrigin] == "*")
                let bad = try await client.execute(uri: "/api/process", method: .post, headers: headers, body: jsonBody(["fidelity": 2]))
                #expect(bad.status == .badRequest && bad.headers[.accessControlAllowOrigin] == "*")
                let health = try await client.execute(uri: "/api/health", method: .get, headers: headers)
                #expect(health.headers[.accessControlAllowOrigin] == "*")
                let missing = try await client.execute(uri: "/nope", method: .get, headers: headers)
                #expect(missing.status == .notFound && missing.headers[.accessControlAllowOrigin] == "*")
                let unsupported = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer())
                #expect(unsupported.status == .unsupportedMediaType && unsupported.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }
}
