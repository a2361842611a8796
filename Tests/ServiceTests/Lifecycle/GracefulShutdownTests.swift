import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM to a real `facerestore serve` in the middle of a restoration (the small fixture models,
/// the real MobileNet detector, background enhancement on a real four-face photo so the work takes
/// seconds): the work in hand is answered, new work gets 503, readiness 503, and the process exits
/// 0 within the grace period; with a grace too short for the work, the work is stopped with 503
/// (and a job's event stream ends with that failure) and the process still exits 0.
@Suite("Graceful shutdown of a real serve process", .serialized)
struct GracefulShutdownTests {
    static var available: Bool { SmallModels.available && Fixtures.available("images/02.png") }

    /// A batch of `count` copies of 02.png with background enhancement, as multipart.
    static func slowBatch(count: Int) throws -> MultipartBody {
        let photo = try Data(contentsOf: Fixtures.url("images/02.png"))
        var form = MultipartBody()
        for index in 0..<count { form.addFile(fileName: "photo\(index).png", data: photo, type: "image/png") }
        form.addField("background_enhance", "true")
        return form
    }

    /// Sends `method path` with `body` on a fresh connection and waits for the whole response.
    static func request(_ server: ServeProcess, _ method: String, _ path: String, body: MultipartBody? = nil,
                        timeout: Duration = .seconds(120)) -> RawResponse? {
        guard let connection = try? RawConnection(port: server.port) else { return nil }
        let payload = body?.body ?? Data()
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(payload.count)\r\n"
        if let body { head += "Content-Type: \(body.contentType)\r\n" }
        _ = connection.send(head + "\r\n")
        _ = connection.send(payload)
        return connection.response(within: timeout)
    }

    /// Runs `work` on a thread of its own; `value` waits for its result.
    final class Background<Value>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: Value?
        init(_ work: @escaping @Sendable () -> Value) {
            Thread.detachNewThread { [self] in
                result = work()
                done.signal()
            }
        }
        func value(timeout: Duration) -> Value? {
            done.wait(timeout: .now() + .seconds(Int(timeout.components.seconds))) == .success ? result : nil
        }
    }

    static func waitUntilRunning(_ server: ServeProcess) throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let health = request(server, "GET", "/api/health", timeout: .seconds(10))?.json
            if (health?["queue"] as? [String: Any])?["running"] as? Bool == true { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Issue.record("the restoration never started:\n\(server.output.suffix(2000))")
    }

    @Test(.enabled(if: available), .timeLimit(.minutes(5)))
    func workInHandIsAnsweredThenTheProcessExits() async throws {
        // Off Swift's cooperative pool: this test blocks on sockets and a process for a minute.
        try await isolated { try Self.workInHandIsAnsweredThenTheProcessExitsBody() }
    }

    static func workInHandIsAnsweredThenTheProcessExitsBody() throws {
        let server = try ServeProcess(arguments: ["--shutdown-grace", "120s"])
        defer { server.stop() }
        let batch = try slowBatch(count: 1)
        let inFlight = Background { Self.request(server, "POST", "/api/process", body: batch) }
        try Self.waitUntilRunning(server)
        let signalled = ContinuousClock.now
        server.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.2)

        let ready = Self.request(server, "GET", "/api/ready", timeout: .seconds(10))
        #expect(ready?.status == 503)
        #expect((ready?.json?["reason"] as? String ?? "").contains("draining"))
        let late = Self.request(server, "POST", "/api/process", body: try Self.slowBatch(count: 1), timeout: .seconds(10))
        #expect(late?.status == 503 && late?.headers["retry-after"] != nil)
        #expect(late?.message?.contains("shutting down") == true)

        let answered = try #require(inFlight.value(timeout: .seconds(120)) ?? nil)
        #expect(answered.status == 200, "\(answered.message ?? "")")
        #expect((answered.json?["results"] as? [Any])?.count == 1)
        let status = server.waitForExit(timeout: .seconds(120))
        let took = ContinuousClock.now - signalled
        #expect(status == 0, "exit status \(String(describing: status)):\n\(server.output.suffix(2000))")
        #expect(!server.endedBySignal)
        #expect(took < .seconds(120), "exited \(took) after SIGTERM, within the grace of 120 s")
        #expect(server.output.contains("shutting down: taking no new work"))
        print("SIGTERM mid-restore: the request in hand was answered \(answered.status), the process exited \(String(describing: status)) after \(took)")
    }

    @Test(.enabled(if: available), .timeLimit(.minutes(5)))
    func workPastTheGraceIsStoppedWith503() async throws {
        // Off Swift's cooperative pool: this test blocks on sockets and a process for a minute.
        try await isolated { try Self.workPastTheGraceIsStoppedWith503Body() }
    }

    static func workPastTheGraceIsStoppedWith503Body() throws {
        let server = try ServeProcess(arguments: ["--shutdown-grace", "1s"])
        defer { server.stop() }
        let submitted = try #require(Self.request(server, "POST", "/api/jobs", body: try Self.slowBatch(count: 8)))
        #expect(submitted.status == 202)
        let id = try #require(submitted.json?["job_id"] as? String)
        // The job's event stream, read until the server closes it.
        let events = Background { () -> String in
            guard let connection = try? RawConnection(port: server.port) else { return "" }
            _ = connection.send("GET /api/jobs/\(id)/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _ = connection.waitForClose(within: .seconds(120))
            return String(decoding: connection.receive(for: .milliseconds(10)), as: UTF8.self)
        }
        let queued = Background { Self.request(server, "POST", "/api/process", body: try! Self.slowBatch(count: 1)) }
        try Self.waitUntilRunning(server)
        Thread.sleep(forTimeInterval: 0.5)
        let signalled = ContinuousClock.now
        server.signal(SIGTERM)

        let stoppedRequest = try #require(queued.value(timeout: .seconds(60)) ?? nil)
        #expect(stoppedRequest.status == 503)
        #expect(stoppedRequest.message?.contains("shutting down") == true, "\(stoppedRequest.message ?? "")")
        let status = server.waitForExit(timeout: .seconds(60))
        let took = ContinuousClock.now - signalled
        #expect(status == 0, "exit status \(String(describing: status)):\n\(server.output.suffix(2000))")
        #expect(took < .seconds(20), "exited \(took) after SIGTERM with a 1 s grace")
        #expect(server.output.contains("shutdown grace of 1s is over"))

        let stream = try #require(events.value(timeout: .seconds(30)))
        #expect(stream.contains("event: failed"), "\(stream.suffix(1500))")
        #expect(stream.contains("\"status_code\":503"))
        print("SIGTERM with a 1 s grace: the queued request was answered \(stoppedRequest.status), the process exited \(String(describing: status)) after \(took)")
    }
}
