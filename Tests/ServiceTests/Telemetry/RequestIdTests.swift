import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Service

/// `X-Request-Id` on every response the router gives, and `request_id` in every error body it gives.
@Suite("X-Request-Id and request_id")
struct RequestIdTests {
    static func isGenerated(_ id: String?) -> Bool {
        guard let id else { return false }
        return id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    @Test("a sane client id is echoed, on success and on errors alike")
    func echo() async throws {
        try await ServiceHarness().test { client in
            for id in ["a", "trace-42", "0af7651916cd43dd8448eb211c80319c", "ns:span.7_x-1", String(repeating: "z", count: 128)] {
                for uri in ["/api/health", "/nope", "/metrics"] {
                    let response = try await client.execute(uri: uri, method: .get, headers: [.requestId: id])
                    #expect(response.headers[.requestId] == id, "\(uri) \(id)")
                }
            }
        }
    }

    @Test("without one, or with one that is not a plain token, a new 32-hex id is made")
    func generated() async throws {
        try await ServiceHarness().test { client in
            var seen: Set<String> = []
            let insane = ["", String(repeating: "z", count: 129), "has space", "semi;colon", "quote\"d", "ünïcode", "a,b", "tab\there", "<script>"]
            for header in [nil] + insane.map(Optional.some) {
                var headers: HTTPFields = [:]
                if let header { headers[.requestId] = header }
                let response = try await client.execute(uri: "/api/health", method: .get, headers: headers)
                let id = response.headers[.requestId]
                #expect(Self.isGenerated(id), "\(header ?? "no header") gave \(id ?? "none")")
                seen.insert(id ?? "")
            }
            #expect(seen.count == insane.count + 1, "ids repeat")
        }
    }

    @Test("the rule itself: 1 to 128 characters of A-Z a-z 0-9 . _ : -")
    func rule() {
        #expect(RequestIdentifier.isSane("A-z_0.9:"))
        #expect(RequestIdentifier.isSane(String(repeating: "1", count: 128)))
        #expect(!RequestIdentifier.isSane(String(repeating: "1", count: 129)))
        #expect(!RequestIdentifier.isSane(""))
        #expect(!RequestIdentifier.isSane("a/b"))
        #expect(!RequestIdentifier.isSane("a\nb"))
        #expect(RequestIdentifier.resolve("keep.me") == "keep.me")
        #expect(Self.isGenerated(RequestIdentifier.resolve("drop me")))
        #expect(Self.isGenerated(RequestIdentifier.generate()))
        #expect(RequestIdentifier.generate() != RequestIdentifier.generate())
    }

    @Test("error bodies carry request_id, the same as the header: 400, 404, 405, 415, 500")
    func errorBodies() async throws {
        struct Boom: Error {}
        try await ServiceHarness(restorer: StubRestorer(failure: Boom())).test { client in
            let image = jsonBody(["image_base64": TestImages.png().base64EncodedString()])
            let cases: [(String, HTTPRequest.Method, HTTPFields, ByteBuffer, HTTPResponse.Status)] = [
                ("/api/process", .post, [.contentType: "application/json"], jsonBody(["fidelity": 2]), .badRequest),
                ("/nope", .get, [:], ByteBuffer(), .notFound),
                ("/static/results/api_result_gone.png", .get, [:], ByteBuffer(), .notFound),
                ("/metrics", .post, [:], ByteBuffer(), .methodNotAllowed),
                ("/api/process", .post, [.contentType: "text/plain"], ByteBuffer(string: "x"), .unsupportedMediaType),
                ("/api/process", .post, [.contentType: "application/json"], image, .internalServerError),
            ]
            for (index, (uri, method, fields, body, status)) in cases.enumerated() {
                for id in ["case-\(index)", nil] as [String?] {
                    var headers = fields
                    if let id { headers[.requestId] = id }
                    let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
                    #expect(response.status == status, "\(uri)")
                    let header = try #require(response.headers[.requestId], "\(uri)")
                    if let id { #expect(header == id) } else { #expect(Self.isGenerated(header)) }
                    #expect(response.json["status"] as? String == "error")
                    #expect(response.json["request_id"] as? String == header, "\(uri): \(response.text)")
                    #expect(response.text.hasSuffix(#","request_id":"\#(header)"}"#), "\(response.text)")
                }
            }
        }
    }

    @Test("successful responses keep their bodies; preflights, HEAD and result files get the header too")
    func otherResponses() async throws {
        try await ServiceHarness().test { client in
            let processed = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json", .requestId: "p-1"],
                                                     body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            #expect(processed.status == .ok && processed.headers[.requestId] == "p-1")
            #expect(processed.json["request_id"] == nil && processed.json["status"] as? String == "success")
            let health = try await client.execute(uri: "/api/health", method: .get)
            #expect(health.json["request_id"] == nil && health.text.hasPrefix(#"{"status":"online""#))
            let path = try #require((processed.results.first?["image_url"] as? String).flatMap { URL(string: $0)?.path })
            let file = try await client.execute(uri: path, method: .get, headers: [.requestId: "f-1"])
            #expect(file.status == .ok && file.headers[.requestId] == "f-1")
            let head = try await client.execute(uri: "/api/health", method: .head, headers: [.requestId: "h-1"])
            #expect(head.status == .ok && head.headers[.requestId] == "h-1")
            let preflight = try await client.execute(uri: "/api/process", method: .options, headers: [
                .origin: "https://app.example.com", .accessControlRequestMethod: "POST", .requestId: "o-1",
            ])
            #expect(preflight.status == .noContent && preflight.headers[.requestId] == "o-1")
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && Self.isGenerated(page.headers[.requestId]))
        }
    }
}
