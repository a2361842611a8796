import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import Testing
@testable import Service

/// The same contract over a real socket (`.live`): what only shows with real connections.
@Suite("Live server (real socket)")
struct LiveServerTests {
    @Test("multipart upload, then the result URL, over TCP")
    func multipartRoundTrip() async throws {
        try await ServiceHarness().test(.live) { client in
            var form = MultipartBody()
            form.addFile(fileName: "photo.jpg", data: TestImages.jpeg(), type: "image/jpeg")
            form.addField("fidelity", "0.7")
            form.addField("background_enhance", "true")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok)
            let url = try #require(response.results.first?["image_url"] as? String)
            // HummingbirdTesting's client sends `Host: localhost` (no port); curl, in CurlExamplesTests, sends the port.
            #expect(url.hasPrefix("http://localhost/static/results/api_result_"))
            let file = try await client.execute(uri: try #require(URL(string: url)?.path), method: .get)
            #expect(file.status == .ok && file.headers[.contentType] == "image/png")
        }
    }

    @Test("an oversize body is refused with 413 from its Content-Length, and the server keeps serving")
    func oversizeBody() async throws {
        try await ServiceHarness { $0.maxBodyBytes = 256 * 1024 }.test(.live) { client in
            let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: 2 << 20)
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .contentTooLarge)
            #expect(response.message == "request body is larger than the limit of 256 KiB")
            let port = try #require(client.port)
            try await TestClient.withClient(host: "localhost", port: port) { fresh in
                let status = try await fresh.get("/api/health").status
                #expect(status == .ok)
            }
        }
    }

    @Test("CORS preflight over TCP")
    func preflight() async throws {
        try await ServiceHarness().test(.live) { client in
            let response = try await client.execute(uri: "/api/process", method: .options, headers: [
                .origin: "http://localhost:3000", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "Content-Type",
            ])
            #expect(response.status == .noContent)
            #expect(response.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test("/api/health answers in milliseconds while a restoration holds the inference thread")
    func healthDuringLongJob() async throws {
        let restorer = StubRestorer(blocking: true)
        try await ServiceHarness(restorer: restorer).test(.live) { client in
            let port = try #require(client.port)
            let job = Task(executorPreference: TestServerExecutor.shared) {
                try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            }
            try await waitUntil { restorer.receivedOptions.count == 1 }
            try await TestClient.withClient(host: "localhost", port: port) { health in
                var slowest = Duration.zero
                for _ in 0..<20 {
                    let start = ContinuousClock.now
                    let response = try await health.get("/api/health")
                    slowest = max(slowest, ContinuousClock.now - start)
                    #expect(response.status == .ok)
                    #expect((response.body.map { String(buffer: $0) } ?? "").contains("\"running\":true"))
                }
                #expect(slowest < .milliseconds(250), "slowest health answer took \(slowest)")
            }
            restorer.gate?.signal()
            #expect(try await job.value.status == .ok)
        }
    }

    @Test("queue full: 503 with Retry-After and the error JSON; the running request still completes")
    func queueFull() async throws {
        let restorer = StubRestorer(blocking: true)
        try await ServiceHarness(restorer: restorer) { $0.queueDepth = 0 }.test(.live) { client in
            let port = try #require(client.port)
            let job = Task(executorPreference: TestServerExecutor.shared) {
                try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            }
            try await waitUntil { restorer.receivedOptions.count == 1 }
            try await TestClient.withClient(host: "localhost", port: port) { second in
                let response = try await second.post("/api/process", headers: [.contentType: "application/json"],
                                                     body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
                #expect(response.status == .serviceUnavailable)
                let retryAfter = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect(retryAfter >= 1)
                let json = (try? JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView))) as? [String: Any]
                #expect(json?["status"] as? String == "error")
                #expect((json?["message"] as? String)?.contains("capacity") == true)
            }
            restorer.gate?.signal()
            #expect(try await job.value.status == .ok)
        }
    }

    @Test("Expect: 100-continue is answered at once (curl sends it for uploads over 1 MiB), unless the body is over the limit",
          .enabled(if: ContractExamples.curlAvailable, "curl is not installed"))
    func expectContinue() async throws {
        let harness = try ServiceHarness { $0.maxBodyBytes = 2 << 20 }
        let work = harness.directory.appendingPathComponent("client")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1_500_000).write(to: work.appendingPathComponent("small.bin"))
        try Data(repeating: 7, count: 3_000_000).write(to: work.appendingPathComponent("large.bin"))
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            let command = "curl -sv -H 'Expect: 100-continue' -F image=@%@ http://localhost:\(port)/api/process 2>&1"
            let (_, accepted) = try await ContractExamples.run(command.replacingOccurrences(of: "%@", with: "small.bin"), in: work)
            let acceptedText = String(decoding: accepted, as: UTF8.self)
            #expect(acceptedText.contains("HTTP/1.1 100 Continue"), "\(acceptedText.suffix(2000))")
            #expect(acceptedText.contains("HTTP/1.1 400"))
            let (_, refused) = try await ContractExamples.run(command.replacingOccurrences(of: "%@", with: "large.bin"), in: work)
            let refusedText = String(decoding: refused, as: UTF8.self)
            #expect(!refusedText.contains("100 Continue"))
            #expect(refusedText.contains("HTTP/1.1 413"))
        }
    }
}
