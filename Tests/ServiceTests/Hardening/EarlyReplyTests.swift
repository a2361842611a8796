import Foundation
import Imaging
import Testing
import TestSupport

/// Replies sent before the whole body was read (413 from Content-Length, 503 while the queue is
/// full) reach clients that send the whole body before reading, with `Connection: close` or
/// HTTP/1.0, as Python's urllib does: the server reads and drops the rest, then closes.
@Suite("Hostile HTTP: early replies reach every client (real server)", .serialized, .enabled(if: SmallModels.available, "fixtures missing"))
struct EarlyReplyTests {
    static func upload(version: String, length: Int, connectionClose: Bool) -> String {
        "POST /api/process HTTP/\(version)\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n"
            + (connectionClose ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test("413 for a 70 MB upload, to HTTP/1.1 Connection: close and HTTP/1.0 clients that send it all first",
          arguments: [("1.1", true), ("1.0", false), ("1.1", false)])
    func oversizeUpload(version: String, connectionClose: Bool) throws {
        let server = try ServeProcess()
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        let length = 70 << 20
        let start = ContinuousClock.now
        #expect(connection.send(Self.upload(version: version, length: length, connectionClose: connectionClose)))
        // The whole body, as urllib sends it, before reading anything.
        let chunk = Data(repeating: UInt8(ascii: "A"), count: 1 << 20)
        var sent = 0
        while sent < length, connection.send(chunk) { sent += chunk.count }
        let response = try #require(connection.response(within: .seconds(20)), "no reply after sending \(sent) bytes")
        #expect(response.status == 413)
        #expect(response.message == "request body is larger than the limit of 64 MiB")
        #expect(response.headers["connection"] == "close")
        #expect(connection.waitForClose(within: .seconds(15)), "the connection was left open")
        print("413 to an HTTP/\(version) client\(connectionClose ? " (Connection: close)" : ""): \(ContinuousClock.now - start), \(sent >> 20) MiB sent")
    }

    @Test("Python's urllib gets the 413 (it sends the whole body, then reads)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func urllib() async throws {
        let server = try ServeProcess()
        defer { server.stop() }
        let script = """
            import urllib.request, urllib.error, sys
            request = urllib.request.Request('\(server.baseURL)/api/process', data=b'x' * (70 << 20),
                                             headers={'Content-Type': 'application/json'})
            try:
                urllib.request.urlopen(request, timeout=30)
                print('no error')
            except urllib.error.HTTPError as error:
                print(error.code, error.read().decode())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.hasPrefix("413 "), "\(text)")
        #expect(text.contains("larger than the limit"))
    }

    @Test("503 while the queue is full, to a Connection: close client that sends its whole body; the running request completes")
    func queueFull() throws {
        let server = try ServeProcess(arguments: ["--queue-depth", "0"])
        defer { server.stop() }
        // 02.png has four faces: a few seconds of work with the small models.
        let photo = try Data(contentsOf: Fixtures.url("images/02.png"))
        var form = MultipartBody()
        form.addFile(fileName: "02.png", data: photo, type: "image/png")
        form.addField("upscale", "1")
        let busy = try RawConnection(port: server.port)
        busy.send("POST /api/process HTTP/1.1\r\nHost: x\r\nContent-Type: \(form.contentType)\r\nContent-Length: \(form.body.count)\r\n\r\n")
        busy.send(form.body)
        try waitUntilRunning(server)

        let refused = try RawConnection(port: server.port)
        let body = Data(repeating: UInt8(ascii: "B"), count: 5 << 20)
        refused.send(Self.upload(version: "1.1", length: body.count, connectionClose: true))
        #expect(refused.send(body))
        let response = try #require(refused.response(within: .seconds(20)))
        #expect(response.status == 503)
        #expect(Int(response.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(refused.waitForClose(within: .seconds(15)))

        let done = try #require(busy.response(within: .seconds(120)))
        #expect(done.status == 200, "\(String(decoding: done.body.prefix(300), as: UTF8.self))")
    }

    /// Polls `/api/health` until a restoration runs.
    func waitUntilRunning(_ server: ServeProcess) throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let connection = try RawConnection(port: server.port)
            connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if let response = connection.response(within: .seconds(5)), let queue = response.json?["queue"] as? [String: Any],
               queue["running"] as? Bool == true { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("no restoration started")
    }
}
