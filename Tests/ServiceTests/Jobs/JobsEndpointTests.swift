import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Restoration
import Testing
@testable import Service

/// `/api/jobs` in process, over the stand-in restorer: the same intake as `/api/process`, 202 with
/// the job's URLs, its states and progress, cancellation, deadlines, expiry and the event stream.
@Suite("Jobs: POST /api/jobs, GET/DELETE /api/jobs/{id}, events")
struct JobsEndpointTests {
    static func submit(_ client: some TestClientProtocol, _ body: [String: Any] = ["image_base64": TestImages.png().base64EncodedString()])
        async throws -> TestResponse {
        try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"], body: jsonBody(body))
    }

    /// Polls the job until `done` holds for its JSON (at most `timeout`).
    static func poll(_ client: some TestClientProtocol, _ id: String, timeout: Duration = .seconds(60),
                     until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let response = try await client.execute(uri: "/api/jobs/\(id)", method: .get)
            #expect(response.status == .ok)
            let json = response.json
            if done(json) || ContinuousClock.now > deadline { return json }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("a job answers 202 with its URLs, then reports the results /api/process would have given")
    func lifecycle() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let response = try await Self.submit(client, ["image_base64": TestImages.png(width: 20, height: 10).base64EncodedString(), "upscale": 4])
            #expect(response.status == .accepted)
            let json = response.json
            let id = try #require(json["job_id"] as? String)
            #expect(json["status"] as? String == "queued")
            #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
            #expect(json["status_url"] as? String == "http://localhost/api/jobs/\(id)")
            #expect(json["events_url"] as? String == "http://localhost/api/jobs/\(id)/events")
            #expect(response.headers[.location] == "http://localhost/api/jobs/\(id)")

            let done = try await Self.poll(client, id) { $0["status"] as? String == "succeeded" }
            #expect(done["status"] as? String == "succeeded")
            #expect(done["progress"] as? Double == 1)
            #expect(done["expires_at"] is String && done["created_at"] is String)
            let results = try #require(done["results"] as? [[String: Any]])
            #expect(results.count == 1)
            let filename = try #require(results[0]["filename"] as? String)
            #expect(results[0]["image_url"] as? String == "http://localhost/static/results/\(filename)")
            #expect(results[0]["faces_found"] as? Int == 1)
            #expect((results[0]["applied"] as? [String: Any])?["upscale"] as? Int == 4)
            let image = try await client.execute(uri: "/static/results/\(filename)", method: .get)
            #expect(image.status == .ok && image.headers[.contentType] == "image/png")
        }
    }

    @Test("return_base64: a job's results carry the image, read back from the result file")
    func base64() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let submitted = try await Self.submit(client, ["image_base64": TestImages.png().base64EncodedString(), "return_base64": true])
            let id = submitted.json["job_id"] as? String ?? ""
            let done = try await Self.poll(client, id) { $0["status"] as? String == "succeeded" }
            let item = try #require((done["results"] as? [[String: Any]])?.first)
            let filename = try #require(item["filename"] as? String)
            let file = try await client.execute(uri: "/static/results/\(filename)", method: .get)
            #expect(item["image_base64"] as? String == Data(file.body.readableBytesView).base64EncodedString())
            // Without return_base64 there is none.
            let plain = try await Self.submit(client).json["job_id"] as? String ?? ""
            let plainDone = try await Self.poll(client, plain) { $0["status"] as? String == "succeeded" }
            #expect((plainDone["results"] as? [[String: Any]])?.first?["image_base64"] == nil)
        }
    }

    @Test("bad requests get exactly the errors /api/process gives them")
    func sameValidation() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let cases: [(HTTPFields, ByteBuffer)] = [
                ([.contentType: "application/json"], jsonBody([:])),
                ([.contentType: "application/json"], jsonBody(["image_base64": "!!", "fidelity": 2])),
                ([.contentType: "application/json"], jsonBody(["image_base64": TestImages.png().base64EncodedString(), "upscale": 3])),
                ([.contentType: "text/plain"], ByteBuffer(string: "hello")),
                ([.contentType: "application/json"], ByteBuffer(string: "{not json")),
            ]
            for (headers, body) in cases {
                let viaJobs = try await client.execute(uri: "/api/jobs", method: .post, headers: headers, body: body)
                let viaProcess = try await client.execute(uri: "/api/process", method: .post, headers: headers, body: body)
                #expect(viaJobs.status == viaProcess.status)
                #expect(viaJobs.status.code >= 400)
                #expect(viaJobs.message == viaProcess.message && !viaJobs.message.isEmpty)
            }
        }
        #expect(harness.restorer.receivedSizes.isEmpty)
    }

    @Test("jobs share the queue bound: a full queue answers 503 with Retry-After; a queued job reports its place")
    func queueBound() async throws {
        let restorer = StubRestorer(blocking: true)
        let harness = try ServiceHarness(restorer: restorer) { $0.queueDepth = 1 }
        try await harness.test { client in
            let first = try await Self.submit(client).json["job_id"] as? String ?? ""
            _ = try await Self.poll(client, first) { $0["status"] as? String == "running" }
            let second = try await Self.submit(client).json["job_id"] as? String ?? ""
            let queued = try await client.execute(uri: "/api/jobs/\(second)", method: .get).json
            #expect(queued["status"] as? String == "queued" && queued["queue_position"] as? Int == 1)
            let refused = try await Self.submit(client)
            #expect(refused.status == .serviceUnavailable)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let sync = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            #expect(sync.status == .serviceUnavailable)
            restorer.gate?.signal()
            restorer.gate?.signal()
            let done = try await Self.poll(client, second) { $0["status"] as? String == "succeeded" }
            #expect(done["status"] as? String == "succeeded")
        }
    }

    @Test("DELETE drops a queued job at once (it never runs) and stops a running one at its next face")
    func cancel() async throws {
        let restorer = StubRestorer()
        restorer.faces = 200
        restorer.faceDelay = .milliseconds(20)
        let harness = try ServiceHarness(restorer: restorer)
        try await harness.test { client in
            let running = try await Self.submit(client).json["job_id"] as? String ?? ""
            let queued = try await Self.submit(client).json["job_id"] as? String ?? ""
            _ = try await Self.poll(client, running) { ($0["face"] as? Int ?? 0) >= 2 }

            let dropped = try await client.execute(uri: "/api/jobs/\(queued)", method: .delete)
            #expect(dropped.status == .ok && dropped.json["status"] as? String == "cancelled")
            #expect(dropped.json["error"] == nil && dropped.json["results"] == nil)

            let asked = try await client.execute(uri: "/api/jobs/\(running)", method: .delete)
            #expect(asked.status == .ok)
            let askedJSON = asked.json
            #expect(askedJSON["status"] as? String == "cancelled" || askedJSON["cancel_requested"] as? Bool == true)
            let stopped = try await Self.poll(client, running, timeout: .seconds(10)) { $0["status"] as? String == "cancelled" }
            #expect(stopped["status"] as? String == "cancelled")
            // Again: a finished job is left as it is.
            let again = try await client.execute(uri: "/api/jobs/\(running)", method: .delete)
            #expect(again.status == .ok && again.json["status"] as? String == "cancelled")
        }
        // The queued job never reached the restorer; the running one stopped long before face 200.
        #expect(harness.restorer.receivedSizes.count == 1)
        #expect(harness.resultFiles.filter { $0.hasSuffix(".png") }.isEmpty)
    }

    @Test("unknown, malformed and expired job ids are 404; other methods 405")
    func notFound() async throws {
        let retention = Duration.seconds(2)
        let harness = try ServiceHarness { $0.retention = retention }
        try await harness.test { client in
            for id in ["0123456789abcdef0123456789abcdef", "nope", "..%2F..%2Fetc"] {
                let response = try await client.execute(uri: "/api/jobs/\(id)", method: .get)
                #expect(response.status == .notFound)
                #expect(response.message.contains("no job"))
                #expect(try await client.execute(uri: "/api/jobs/\(id)", method: .delete).status == .notFound)
                #expect(try await client.execute(uri: "/api/jobs/\(id)/events", method: .get).status == .notFound)
            }
            let submitted = ContinuousClock.now
            let id = try await Self.submit(client).json["job_id"] as? String ?? ""
            // The job answers until its retention has passed after it finished, then 404. (Not
            // "poll for succeeded, then wait": under load a poll can miss the whole retention.)
            var status = HTTPResponse.Status.ok
            while status == .ok, ContinuousClock.now < submitted + .seconds(60) {
                status = try await client.execute(uri: "/api/jobs/\(id)", method: .get).status
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == .notFound)
            #expect(ContinuousClock.now - submitted >= retention, "the job was gone before its retention had passed")
            let put = try await client.execute(uri: "/api/jobs/\(id)", method: .put)
            #expect(put.status == .methodNotAllowed && put.headers[.allow] == "GET, DELETE, HEAD")
            #expect(try await client.execute(uri: "/api/jobs", method: .get).status == .methodNotAllowed)
        }
    }

    @Test("the event stream sends each change and ends with the final state")
    func events() async throws {
        let restorer = StubRestorer(blocking: true)
        restorer.faces = 3
        restorer.faceDelay = .milliseconds(30)
        let harness = try ServiceHarness(restorer: restorer)
        try await harness.test { client in
            let id = try await Self.submit(client).json["job_id"] as? String ?? ""
            _ = try await Self.poll(client, id) { $0["status"] as? String == "running" }
            // Let the restoration go on once the stream is open.
            let release = Task {
                try await Task.sleep(for: .milliseconds(300))
                restorer.gate?.signal()
            }
            defer { release.cancel() }
            let response = try await client.execute(uri: "/api/jobs/\(id)/events", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
            let events = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }
            let parsed = events.map { event -> (id: String, name: String, data: [String: Any]) in
                let lines = event.split(separator: "\n").map(String.init)
                let field = { (name: String) in lines.first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) } ?? "" }
                let data = (try? JSONSerialization.jsonObject(with: Data(field("data").utf8))) as? [String: Any] ?? [:]
                return (field("id"), field("event"), data)
            }
            #expect(parsed.map(\.id) == (1...parsed.count).map(String.init))
            #expect(parsed.last?.name == "succeeded")
            #expect(parsed.last?.data["results"] is [[String: Any]])
            #expect(parsed.allSatisfy { $0.name == $0.data["status"] as? String && $0.data["job_id"] as? String == id })
            let faces = parsed.compactMap { $0.data["stage"] as? String == "restore" ? $0.data["face"] as? Int : nil }
            #expect(faces == [1, 2, 3])
            let progress = parsed.compactMap { $0.data["progress"] as? Double }
            #expect(zip(progress, progress.dropFirst()).allSatisfy { $0 <= $1 })
            // A finished job's stream is its final state alone.
            let replay = try await client.execute(uri: "/api/jobs/\(id)/events", method: .get)
            #expect(replay.text.hasPrefix("id: 1\nevent: succeeded\n") && replay.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count == 1)
        }
    }

    /// 500 faces of 10 ms each: five seconds unless stopped.
    static func slowRestorer() -> StubRestorer {
        let restorer = StubRestorer()
        restorer.faces = 500
        restorer.faceDelay = .milliseconds(10)
        return restorer
    }

    @Test("a job that runs out of memory fails with the 503 the synchronous call would give; the next job succeeds")
    func jobOutOfMemory() async throws {
        let restorer = StubRestorer()
        restorer.compute = ErrorStatusTests.allocateBeyondMemory
        try await ServiceHarness(restorer: restorer).test { client in
            let id = try await Self.submit(client).json["job_id"] as? String ?? ""
            let failed = try await Self.poll(client, id, timeout: .seconds(20)) { $0["status"] as? String != "queued" && $0["status"] as? String != "running" }
            #expect(failed["status"] as? String == "failed")
            let error = try #require(failed["error"] as? [String: Any])
            #expect(error["status_code"] as? Int == 503)
            #expect((error["message"] as? String ?? "").hasPrefix("the server ran out of memory restoring this image"))
            restorer.compute = nil
            let next = try await Self.submit(client).json["job_id"] as? String ?? ""
            let done = try await Self.poll(client, next, timeout: .seconds(20)) { $0["status"] as? String == "succeeded" }
            #expect(done["status"] as? String == "succeeded")
        }
    }

    @Test("a job past --job-timeout fails with the 504 the synchronous call would give")
    func jobDeadline() async throws {
        let harness = try ServiceHarness(restorer: Self.slowRestorer()) { $0.jobTimeout = .milliseconds(300) }
        try await harness.test { client in
            let id = try await Self.submit(client).json["job_id"] as? String ?? ""
            let failed = try await Self.poll(client, id, timeout: .seconds(20)) { $0["status"] as? String == "failed" }
            let error = try #require(failed["error"] as? [String: Any])
            #expect(error["status_code"] as? Int == 504)
            #expect((error["message"] as? String ?? "").contains("job timeout"))
        }
    }

    @Test("/api/process past --request-timeout stops the work and answers 504 pointing to /api/jobs")
    func requestDeadline() async throws {
        let harness = try ServiceHarness(restorer: Self.slowRestorer()) { $0.requestTimeout = .milliseconds(300) }
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                    body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            #expect(response.status == .gatewayTimeout)
            #expect(response.message.contains("POST /api/jobs"))
            #expect(harness.restorer.facesDone < 500, "stopped at the next face, not after all 500")
            // The inference thread is free again.
            try await waitUntil { !harness.service.executor.status.running }
        }
        #expect(harness.resultFiles.filter { $0.hasSuffix(".png") }.isEmpty)
    }

    @Test("--max-faces reaches the restoration")
    func maxFaces() async throws {
        let harness = try ServiceHarness { $0.maxFaces = 3 }
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                    body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            #expect(response.status == .ok)
        }
        #expect(harness.restorer.receivedOptions.map(\.maxFaces) == [3])
    }
}
