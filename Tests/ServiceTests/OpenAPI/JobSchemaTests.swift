import Foundation
import HummingbirdTesting
import Testing
import TestSupport
@testable import Service
import HTTPTypes
import NIOCore
import Restoration

/// Real job objects in every state, and the other bodies the operations API adds, validated
/// against the repository's OpenAPI document with the `jsonschema` package (installed with
/// schemathesis into `.build/test-tools`). Schemathesis sends requests of its own making and does
/// not follow a 202 to a live job, so this is where a job's schema is held to what the server sends.
@Suite("OpenAPI: real job objects match the document", .enabled(if: TestTools.available("schemathesis")))
struct JobSchemaTests {
    /// Validates `[schema name, instance]` pairs; prints one line per violation.
    static let validator = """
        import json, sys
        from jsonschema import Draft202012Validator
        document = json.load(open(sys.argv[1]))
        samples = json.load(open(sys.argv[2]))
        bad = 0
        for name, instance in samples:
            schema = {"$ref": "#/components/schemas/" + name, "components": document["components"]}
            for error in Draft202012Validator(schema).iter_errors(instance):
                bad += 1
                print(f"{name} {instance.get('status')}: {error.message} at {list(error.absolute_path)}")
        print(f"checked {len(samples)} samples, {bad} violations")
        sys.exit(1 if bad else 0)
        """

    /// Collects bodies while jobs go through every state.
    final class Samples: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [[Any]] = []
        func add(_ schema: String, _ response: TestResponse) {
            let json = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) ?? [:]
            lock.withLock { list.append([schema, json]) }
        }
        var all: [[Any]] { lock.withLock { list } }
        func statuses(_ schema: String) -> Set<String> {
            Set(all.filter { $0[0] as? String == schema }.compactMap { ($0[1] as? [String: Any])?["status"] as? String })
        }
    }

    @Test("queued, running (with and without a face), cancel requested, succeeded (with base64), failed, cancelled; 202, ready, error bodies")
    func everyState() async throws {
        let restorer = StubRestorer(blocking: true)
        restorer.faces = 40
        restorer.faceDelay = .milliseconds(20)
        let harness = try ServiceHarness(restorer: restorer) { $0.queueDepth = 8 }
        let samples = Samples()
        try await harness.test { client in
            func submit(_ extra: [String: Any] = [:]) async throws -> String {
                let response = try await JobsEndpointTests.submit(client, ["image_base64": TestImages.png().base64EncodedString()].merging(extra) { $1 })
                samples.add("JobAccepted", response)
                return response.json["job_id"] as? String ?? ""
            }
            func show(_ id: String) async throws -> [String: Any] {
                let response = try await client.execute(uri: "/api/jobs/\(id)", method: .get)
                samples.add("Job", response)
                return response.json
            }
            samples.add("NotReady", try await client.execute(uri: "/api/ready", method: .get))
            try await harness.service.warmUp()
            samples.add("Ready", try await client.execute(uri: "/api/ready", method: .get))
            samples.add("Error", try await client.execute(uri: "/api/jobs/nope", method: .get))

            let first = try await submit(["return_base64": true])
            let second = try await submit()
            let third = try await submit()
            _ = try await JobsEndpointTests.poll(client, first) { $0["status"] as? String == "running" }
            _ = try await show(first)   // running, at the gate: stage decode
            _ = try await show(second)  // queued
            samples.add("Job", try await client.execute(uri: "/api/jobs/\(third)", method: .delete))  // cancelled while queued
            restorer.gate?.signal()
            _ = try await JobsEndpointTests.poll(client, first) { $0["face"] != nil }
            _ = try await show(first)   // running, a face
            _ = try await JobsEndpointTests.poll(client, first) { $0["status"] as? String == "succeeded" }
            _ = try await show(first)   // succeeded, with base64 read back
            restorer.gate?.signal()
            _ = try await JobsEndpointTests.poll(client, second) { $0["face"] != nil }
            samples.add("Job", try await client.execute(uri: "/api/jobs/\(second)", method: .delete))  // cancel requested
            _ = try await JobsEndpointTests.poll(client, second) { $0["status"] as? String == "cancelled" }
            _ = try await show(second)  // cancelled after running

            restorer.failure = ServiceError.resultsNotStored(reason: "no space left on device")
            let failing = try await submit()
            restorer.gate?.signal()
            _ = try await JobsEndpointTests.poll(client, failing) { $0["status"] as? String == "failed" }
            _ = try await show(failing)  // failed
        }
        #expect(samples.statuses("Job") == ["queued", "running", "succeeded", "failed", "cancelled"])

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-job-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("samples.json")
        try JSONSerialization.data(withJSONObject: samples.all).write(to: file)
        let run = try TestTools.run("python3", ["-c", Self.validator, RepositoryOpenAPIDocument.file.path, file.path], timeout: .seconds(120))
        #expect(run.status == 0 && !run.timedOut, "\(run.output)")
        print("job schema: \(run.output.split(separator: "\n").last ?? "")")
    }
}
