import Foundation
import Testing
import TestSupport

/// Schemathesis against a real `facerestore serve` (the small fixture models, real MobileNet
/// detector): requests generated from the OpenAPI document for every operation, valid and invalid,
/// the document's example (a real restoration) and its links (a result fetched after it is made);
/// every response must be no server error and match the document's statuses, content types,
/// headers and schemas.
@Suite("OpenAPI: schemathesis against a real server", .serialized,
       .enabled(if: TestTools.available("schemathesis") && SmallModels.available,
                "schemathesis (scripts/setup.sh --test-tools) or the fixtures are missing"))
struct SchemathesisTests {
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance",
        "response_schema_conformance", "response_headers_conformance",
        // Methods the document does not list get 405 with Allow; OPTIONS advertises nothing false.
        "unsupported_method", "allow_header_conformance",
    ]

    @Test("every operation: no server error, documented status, content type, headers and body")
    func conformance() async throws {
        // Off Swift's cooperative pool: this test waits minutes on a server and a tool.
        try await isolated { try Self.conformanceBody() }
    }

    static func conformanceBody() throws {
        // A queue deep enough for every job and restoration the run sends: a full queue's 503 is
        // the documented answer, but not_a_server_error would count it.
        let server = try ServeProcess(arguments: ["--queue-depth", "64"])
        defer { server.stop() }
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-schemathesis-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }

        let arguments = [
            "run", RepositoryOpenAPIDocument.file.path, "--url", server.baseURL,
            "--checks", Self.checks.joined(separator: ","),
            "--phases", "examples,coverage,fuzzing,stateful",
            // One worker: concurrent workers trip a CPython 3.11 bug in ast.parse ("AST constructor
            // recursion depth mismatch") inside Hypothesis.
            "--max-examples", "20", "--seed", "20261203", "--workers", "1",
            "--request-timeout", "60", "--generation-database", "none",
            "--report", "json", "--report-json-path", report.path, "--no-color",
        ]
        let run = try TestTools.run("schemathesis", arguments, timeout: .seconds(170))
        let summary = try #require(try? JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any],
                                   "schemathesis wrote no report (exit \(run.status), timed out: \(run.timedOut)):\n\(run.output.suffix(6000))")
        let cases = summary["test_cases"] as? [String: Any] ?? [:]
        let operations = summary["operations"] as? [String: Any] ?? [:]
        let generated = cases["generated"] as? Int ?? 0
        let failures = summary["failures"] as? [[String: Any]] ?? []
        let errors = summary["errors"] as? [[String: Any]] ?? []
        let seconds = (summary["running_time"] as? Double).map { String(format: "%.0f", $0) } ?? "?"
        print("schemathesis \(summary["schemathesis_version"] ?? "?"): \(generated) generated requests over "
              + "\(operations["tested"] ?? 0) of \(operations["total"] ?? 0) operations in \(seconds) s; "
              + "\(cases["with_failures"] ?? 0) with failures, \(errors.count) error groups")

        #expect(!run.timedOut, "schemathesis did not finish within 170 s")
        #expect(summary["complete"] as? Bool == true && run.status == 0, "exit \(run.status):\n\(run.output.suffix(12000))")
        #expect(failures.isEmpty, "\(failures.map { "\($0["title"] ?? "") (\($0["count"] ?? 0)×) in \($0["operations"] ?? [])" })")
        #expect(errors.isEmpty, "\(errors)")
        #expect(operations["tested"] as? Int == operations["total"] as? Int && (operations["total"] as? Int ?? 0) > 0,
                "operations: \(operations)")
        #expect(generated > 100, "only \(generated) requests generated")
        // The document's example is a real restoration: at least one 200 was checked, with its result.
        let results = (try? FileManager.default.contentsOfDirectory(atPath: server.resultsDirectory.path)) ?? []
        #expect(results.contains { $0.hasPrefix("api_result_") }, "no restoration succeeded: is the document's example still a valid image?")
        #expect(server.isRunning && server.errorLines.isEmpty, "\(server.errorLines)")
    }
}
