import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Slow, stalled and idle clients against a real `facerestore serve` with short limits, over raw
/// sockets: each is cut off within its limit (seconds, not minutes) with 408 where a reply is
/// due, the uploads held at once are capped, and SIGTERM does not wait on a stalled upload.
@Suite("Hostile HTTP: timeouts, upload cap, shutdown (real server)", .serialized, .enabled(if: SmallModels.available, "fixtures missing"))
struct ConnectionLimitTests {
    static let shortLimits = ["--idle-timeout", "1s", "--header-timeout", "1s", "--body-timeout", "1s", "--min-body-rate", "4KiB"]

    static func post(length: Int) -> String {
        "POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
    }

    @Test("idle connections close; half a request line gets 408; a stalled or trickling body gets 408")
    func timeouts() throws {
        let server = try ServeProcess(arguments: Self.shortLimits)
        defer { server.stop() }

        let idle = try RawConnection(port: server.port)
        let start = ContinuousClock.now
        #expect(idle.waitForClose(within: .seconds(10)), "an idle connection stayed open")
        #expect(ContinuousClock.now - start < .seconds(5))

        let halfLine = try RawConnection(port: server.port)
        halfLine.send("POST /api/pro")
        let headTimeout = try #require(halfLine.response(within: .seconds(10)))
        #expect(headTimeout.status == 408 && headTimeout.message?.contains("request head") == true, "\(headTimeout.message ?? "")")
        #expect(halfLine.waitForClose(within: .seconds(5)))

        let stalled = try RawConnection(port: server.port)
        stalled.send(Self.post(length: 1_000_000) + "{\"image_base64\": \"")
        let bodyTimeout = try #require(stalled.response(within: .seconds(10)))
        #expect(bodyTimeout.status == 408 && bodyTimeout.message?.contains("request body") == true, "\(bodyTimeout.message ?? "")")
        #expect(bodyTimeout.headers["connection"] == "close")
        #expect(stalled.waitForClose(within: .seconds(5)))

        // One byte every 0.3 s never pauses a full second, but averages far below 4 KiB/s.
        let trickle = try RawConnection(port: server.port)
        trickle.send(Self.post(length: 1_000_000))
        var reply: RawResponse?
        let trickleStart = ContinuousClock.now
        while reply == nil, ContinuousClock.now - trickleStart < .seconds(20) {
            trickle.send("A")
            reply = RawResponse(trickle.receive(for: .milliseconds(300)))
        }
        let trickled = try #require(reply, "a trickling upload was never cut off")
        #expect(trickled.status == 408)
        #expect(ContinuousClock.now - trickleStart < .seconds(10))
        #expect(server.isRunning)
        #expect(server.errorLines.isEmpty, "\(server.errorLines)")
    }

    @Test("300 connections holding half a request line are all closed by the header timeout; /api/health stays fast")
    func manyHalfOpenConnections() throws {
        let server = try ServeProcess(arguments: Self.shortLimits + ["--idle-timeout", "30s"])
        defer { server.stop() }
        let connections = try (0..<300).map { _ in try RawConnection(port: server.port) }
        for connection in connections { connection.send("GET /api/hea") }
        let health = try RawConnection(port: server.port)
        let asked = ContinuousClock.now
        health.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(health.response(within: .seconds(10))?.status == 200)
        print("health with 300 half-open connections: \(ContinuousClock.now - asked)")
        Thread.sleep(forTimeInterval: 2)
        let open = connections.filter { !$0.waitForClose(within: .seconds(3)) }.count
        #expect(open == 0, "\(open) of 300 connections still open")
    }

    @Test("uploads held at once are capped: beyond --max-buffered-uploads, 503 + Retry-After before the body is read")
    func uploadCap() throws {
        let server = try ServeProcess(arguments: ["--max-buffered-uploads", "1MiB", "--body-timeout", "30s"])
        defer { server.stop() }
        // Two stalled uploads of 600 KB: the first is held, the second does not fit.
        var first: RawConnection? = try RawConnection(port: server.port)
        first?.send(Self.post(length: 600_000) + "{\"image_base64\": \"")
        Thread.sleep(forTimeInterval: 0.3)
        let second = try RawConnection(port: server.port)
        second.send(Self.post(length: 600_000))
        let refused = try #require(second.response(within: .seconds(10)))
        #expect(refused.status == 503, "\(refused.message ?? "")")
        #expect(refused.message?.contains("uploads") == true)
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
        // An early reply closes the connection (after dropping what the client still sends).
        #expect(second.waitForClose(within: .seconds(15)))
        // The first client goes away: its bytes are free again, and a whole upload is read (400: not an image).
        first = nil
        Thread.sleep(forTimeInterval: 0.5)
        let third = try RawConnection(port: server.port)
        let body = "{\"image_base64\": \"" + String(repeating: "A", count: 599_970) + "\"}"
        third.send(Self.post(length: body.utf8.count) + body)
        let accepted = try #require(third.response(within: .seconds(10)))
        #expect(accepted.status == 400, "\(accepted.message ?? "")")
        #expect(first == nil)
    }

    @Test("SIGTERM with a stalled upload: the upload gets 503, the process exits in seconds")
    func shutdownWithStalledUpload() throws {
        let server = try ServeProcess(arguments: ["--body-timeout", "120s"])
        defer { server.stop() }
        let stalled = try RawConnection(port: server.port)
        stalled.send(Self.post(length: 1_000_000) + "{\"image_base64\": \"")
        Thread.sleep(forTimeInterval: 0.5)
        let start = ContinuousClock.now
        server.signal(SIGTERM)
        let status = server.waitForExit(timeout: .seconds(30))
        let elapsed = ContinuousClock.now - start
        #expect(status == 0, "exit status \(String(describing: status))")
        #expect(elapsed < .seconds(10), "exit took \(elapsed)")
        print("SIGTERM with a stalled upload: exited in \(elapsed)")
        let reply = stalled.response(within: .seconds(2))
        #expect(reply?.status == 503, "\(String(describing: reply?.message))")
    }
}
