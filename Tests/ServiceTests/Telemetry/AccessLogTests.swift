import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import Service

/// One structured info line per request: in process through a capturing log handler, and from a
/// real `facerestore serve` as an operator reads it.
@Suite("Access log", .serialized)
struct AccessLogTests {
    static let fields = ["request_id", "method", "route", "path", "status", "bytes_in", "bytes_out", "duration_ms"]

    @Test("in process: every request's line has its id, route, status and byte counts; a restoration's has its faces")
    func inProcess() async throws {
        let capture = LogCapture()
        let image = jsonBody(["image_base64": TestImages.png().base64EncodedString()])
        let sizes = try await ServiceHarness().test(logger: capture.logger()) { client in
            let processed = try await client.execute(uri: "/api/process", method: .post,
                                                     headers: [.contentType: "application/json", .requestId: "log-process"], body: image)
            let health = try await client.execute(uri: "/api/health", method: .get, headers: [.requestId: "log-health"])
            _ = try await client.execute(uri: "/nope?x=1", method: .get, headers: [.requestId: "log-missing"])
            _ = try await client.execute(uri: "/api/health", method: .put, headers: [.requestId: "log-put"])
            _ = try await client.execute(uri: "/api/health", method: .head, headers: [.requestId: "log-head"])
            return (processed.body.readableBytes, health.body.readableBytes)
        }
        let lines = capture.entries.filter { $0.message == "request" }
        #expect(lines.count == 5, "\(lines)")
        #expect(lines.allSatisfy { $0.level == .info })
        func line(_ id: String) throws -> [String: String] {
            let matching = lines.filter { $0.metadata["request_id"] == id }
            try #require(matching.count == 1, "\(id): \(matching.count) lines")
            let fields = matching[0].metadata
            for name in Self.fields { #expect(fields[name] != nil, "\(id) lacks \(name)") }
            #expect(fields["hb.request.id"] == nil)
            #expect(fields["duration_ms"].flatMap(Double.init).map { $0 >= 0 } == true)
            return fields
        }
        let process = try line("log-process")
        #expect(process["method"] == "POST" && process["route"] == "/api/process" && process["path"] == "/api/process")
        #expect(process["status"] == "200")
        #expect(process["bytes_in"] == String(image.readableBytes))
        #expect(process["bytes_out"] == String(sizes.0))
        #expect(process["faces_found"] == "1" && process["faces_restored"] == "1")

        let health = try line("log-health")
        #expect(health["route"] == "/api/health" && health["status"] == "200" && health["bytes_in"] == "0")
        #expect(health["bytes_out"] == String(sizes.1))
        #expect(health["faces_found"] == nil)

        let missing = try line("log-missing")
        #expect(missing["route"] == "unmatched" && missing["path"] == "/nope" && missing["status"] == "404")
        #expect(missing["bytes_out"].flatMap(Int.init).map { $0 > 0 } == true)

        let put = try line("log-put")
        #expect(put["method"] == "PUT" && put["route"] == "/api/health" && put["status"] == "405")

        let head = try line("log-head")
        #expect(head["method"] == "HEAD" && head["status"] == "200" && head["bytes_out"] == "0")
    }

    @Test("a 500's error line and access line share the request's id")
    func errorLinesCarryTheId() async throws {
        struct Boom: Error {}
        let capture = LogCapture()
        _ = try await ServiceHarness(restorer: StubRestorer(failure: Boom())).test(logger: capture.logger()) { client in
            try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json", .requestId: "boom-1"],
                                     body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
        }
        let lines = capture.entries.filter { $0.metadata["request_id"] == "boom-1" }
        #expect(lines.contains { $0.level == .error && $0.metadata["reference"] != nil }, "\(lines)")
        #expect(lines.filter { $0.message == "request" }.map { $0.metadata["status"] } == ["500"])
    }

    @Test("a real server prints one line per request with the fields", .enabled(if: SmallModels.available, "fixtures missing"))
    func realServer() throws {
        let server = try ServeProcess(environment: ["LOG_LEVEL": "info"])
        defer { server.stop() }
        let png = TestImages.png().base64EncodedString()
        let json = #"{"image_base64": "\#(png)"}"#
        let requests: [(id: String, request: String, status: Int, route: String)] = [
            ("serve-health", "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: serve-health\r\n\r\n", 200, "/api/health"),
            ("serve-missing", "GET /no/such/page HTTP/1.1\r\nHost: x\r\nX-Request-Id: serve-missing\r\n\r\n", 404, "unmatched"),
            ("serve-result", "GET /static/results/api_result_gone.png HTTP/1.1\r\nHost: x\r\nX-Request-Id: serve-result\r\n\r\n", 404,
             "/static/results/{filename}"),
            ("serve-process", "POST /api/process HTTP/1.1\r\nHost: x\r\nX-Request-Id: serve-process\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)", 200, "/api/process"),
            ("serve-metrics", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Request-Id: serve-metrics\r\n\r\n", 200, "/metrics"),
        ]
        var bodies: [String: Int] = [:]
        for item in requests {
            let connection = try RawConnection(port: server.port)
            connection.send(item.request)
            let response = try #require(connection.response(within: .seconds(60)), "\(item.id): no response")
            #expect(response.status == item.status, "\(item.id): \(String(decoding: response.body, as: UTF8.self))")
            #expect(response.headers["x-request-id"] == item.id)
            bodies[item.id] = response.body.count
        }
        // A request the connection guard refuses before routing still gets an id.
        let garbage = try RawConnection(port: server.port)
        garbage.send("FROB /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        let refused = try #require(garbage.response(within: .seconds(10)))
        #expect(refused.status == 501)
        #expect(RequestIdTests.isGenerated(refused.headers["x-request-id"]))
        #expect(refused.json?["request_id"] as? String == refused.headers["x-request-id"])

        // The line is written once the response body is out: wait for the last one.
        let deadline = ContinuousClock.now + .seconds(10)
        var lines: [Substring] = []
        repeat {
            lines = server.output.split(separator: "\n").filter { $0.contains(" request_id=serve-") && $0.hasSuffix(" request") }
            if lines.count >= requests.count { break }
            Thread.sleep(forTimeInterval: 0.05)
        } while ContinuousClock.now < deadline
        #expect(lines.count == requests.count, "\(server.output.suffix(3000))")
        for item in requests {
            let matching = lines.filter { $0.contains(" request_id=\(item.id) ") }
            try #require(matching.count == 1, "\(item.id): \(matching)")
            let line = matching[0]
            #expect(line.contains(" info facerestore: "), "\(line)")
            let fields = Self.parse(line)
            for name in Self.fields { #expect(fields[name] != nil, "\(item.id) lacks \(name): \(line)") }
            #expect(fields["status"] == String(item.status) && fields["route"] == item.route, "\(line)")
            #expect(fields["bytes_out"] == String(bodies[item.id] ?? -1), "\(line)")
            if item.id == "serve-process" {
                #expect(fields["bytes_in"] == String(json.utf8.count), "\(line)")
                #expect(fields["faces_found"] != nil && fields["faces_restored"] != nil, "\(line)")
            }
        }
        #expect(server.errorLines.isEmpty, "\(server.errorLines)")
    }

    /// The `key=value` pairs of a swift-log stream line (`<time> info facerestore: k=v ... [Service] request`).
    static func parse(_ line: Substring) -> [String: String] {
        guard let start = line.range(of: ": "), let end = line.range(of: " [", options: .backwards) else { return [:] }
        var fields: [String: String] = [:]
        for pair in line[start.upperBound..<end.lowerBound].split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return fields
    }
}
