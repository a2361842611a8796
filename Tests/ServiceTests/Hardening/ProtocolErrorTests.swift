import Foundation
import Testing
import TestSupport

/// Requests no HTTP library would send, over a raw socket to a real `facerestore serve`: every one
/// gets the contract's JSON error with the fitting status and the CORS header, nothing is logged
/// as a server failure, and the server keeps serving.
@Suite("Hostile HTTP: protocol errors and methods (real server)", .serialized, .enabled(if: SmallModels.available, "fixtures missing"))
struct ProtocolErrorTests {
    /// One raw request and what must come back.
    struct Case: CustomStringConvertible {
        let name: String
        let request: Data
        let status: Int
        let messageContains: String

        init(_ name: String, _ request: String, _ status: Int, _ messageContains: String) {
            self.init(name, Data(request.utf8), status, messageContains)
        }

        init(_ name: String, _ request: Data, _ status: Int, _ messageContains: String) {
            self.name = name
            self.request = request
            self.status = status
            self.messageContains = messageContains
        }

        var description: String { name }
    }

    static let cases: [Case] = [
        Case("garbage instead of a request line", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\r\n\r\n", 400, "not a valid HTTP/1.1 request"),
        Case("a request line without a version", "GET\r\n\r\n", 400, "malformed HTTP request"),
        Case("unknown method", "FROB /api/health HTTP/1.1\r\nHost: x\r\n\r\n", 501, "method"),
        Case("HTTP/2.0 in an HTTP/1 request line", "GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP version"),
        Case("HTTP/3.1", "GET /api/health HTTP/3.1\r\nHost: x\r\n\r\n", 505, "HTTP version"),
        Case("two Content-Lengths", "POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}", 400, "Content-Length"),
        Case("a Content-Length that is not a number", "POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "Content-Length"),
        Case("a URL over the head limit", "GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request line"),
        Case("header fields over the head limit", "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100_000) + "\r\n\r\n", 431, "header fields"),
        Case("a malformed chunked body", "POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n", 400, "HTTP framing"),
        Case("PUT on /api/process", "PUT /api/process HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "PUT is not allowed"),
        Case("DELETE on a result", "DELETE /static/results/api_result_x.png HTTP/1.1\r\nHost: x\r\n\r\n", 405, "DELETE is not allowed"),
        Case("PATCH on /api/health", "PATCH /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "PATCH is not allowed"),
    ]

    @Test("each protocol error gets its status, the error JSON and CORS; the server keeps serving")
    func protocolErrors() throws {
        let server = try ServeProcess()
        defer { server.stop() }
        for item in Self.cases {
            let connection = try RawConnection(port: server.port)
            connection.send(item.request)
            let response = try #require(connection.response(within: .seconds(10)), "\(item): no response")
            #expect(response.status == item.status, "\(item): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
            #expect(response.json?["status"] as? String == "error", "\(item)")
            #expect(response.message?.contains(item.messageContains) == true, "\(item): \(response.message ?? "no message")")
            #expect(response.headers["access-control-allow-origin"] == "*", "\(item)")
            if item.status == 405 {
                #expect(response.headers["allow"]?.isEmpty == false, "\(item)")
            } else {
                // A request that was not understood ends its connection.
                #expect(connection.waitForClose(within: .seconds(5)), "\(item): connection left open")
            }
        }
        try expectStillServing(server)
        #expect(server.errorLines.isEmpty, "\(server.errorLines)")
    }

    @Test("a client that closes in the middle of its body: nothing logged as a failure, the server keeps serving")
    func closeMidBody() throws {
        let server = try ServeProcess()
        defer { server.stop() }
        for _ in 0..<5 {
            let connection = try RawConnection(port: server.port)
            connection.send("POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"image_base64\": \"iVBOR")
        }
        Thread.sleep(forTimeInterval: 0.5)
        try expectStillServing(server)
        #expect(server.errorLines.isEmpty, "\(server.errorLines)")
    }

    /// `/api/health` answers 200 on a fresh connection.
    func expectStillServing(_ server: ServeProcess) throws {
        let connection = try RawConnection(port: server.port)
        connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try #require(connection.response(within: .seconds(10)))
        #expect(response.status == 200)
        #expect(server.isRunning)
    }
}
