import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Service

/// `GET /metrics` on a service that has answered requests: the text format's content type, the
/// series with their counts, and a body Prometheus's own checker accepts.
@Suite("GET /metrics")
struct MetricsRouteTests {
    /// A few requests (one restoration, errors among them), then the scrape's body.
    static func scrapeAfterTraffic(_ client: some TestClientProtocol) async throws -> String {
        let processed = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                 body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
        #expect(processed.status == .ok)
        for _ in 0..<2 { #expect(try await client.execute(uri: "/api/health", method: .get).status == .ok) }
        #expect(try await client.execute(uri: "/api/health", method: .head).status == .ok)
        #expect(try await client.execute(uri: "/nope", method: .get).status == .notFound)
        #expect(try await client.execute(uri: "/static/results/api_result_gone.png", method: .get).status == .notFound)
        #expect(try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(["fidelity": 2])).status == .badRequest)
        let refused = try await client.execute(uri: "/metrics", method: .post)
        #expect(refused.status == .methodNotAllowed && refused.headers[.allow] == "GET, HEAD")
        #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)

        let response = try await client.execute(uri: "/metrics", method: .get)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
        return response.text
    }

    @Test("requests by route template, method and status; queue, results and models as they are")
    func series() async throws {
        let text = try await ServiceHarness().test { client in try await Self.scrapeAfterTraffic(client) }
        let samples = MetricSamples(text)
        func requests(_ route: String, _ method: String, _ status: Int) -> Double? {
            samples[#"facerestore_http_requests_total{route="\#(route)",method="\#(method)",status="\#(status)"}"#]
        }
        #expect(requests("/api/process", "POST", 200) == 1)
        #expect(requests("/api/process", "POST", 400) == 1)
        #expect(requests("/api/health", "GET", 200) == 2)
        #expect(requests("/api/health", "HEAD", 200) == 1)
        #expect(requests("unmatched", "GET", 404) == 1)
        #expect(requests("/static/results/{filename}", "GET", 404) == 1)
        #expect(requests("/metrics", "POST", 405) == 1)
        #expect(requests("/metrics", "GET", 200) == 1)  // the earlier scrape; this one is counted after it answers
        #expect(samples.series(named: "facerestore_http_requests_total").values.reduce(0, +) == 9)
        #expect(!text.contains("/static/results/api_result_gone.png"), "a raw path became a label")
        #expect(samples[#"facerestore_http_request_duration_seconds_count{route="/api/health"}"#] == 3)
        #expect(samples[#"facerestore_http_request_duration_seconds_count{route="unmatched"}"#] == 1)
        #expect(samples["facerestore_queue_waiting"] == 0)
        #expect(samples["facerestore_queue_running"] == 0)
        #expect(samples["facerestore_queue_capacity"] == 4)
        #expect(samples["facerestore_results_files"] == 1)
        #expect((samples["facerestore_results_bytes"] ?? 0) > 0)
        #expect(samples["facerestore_results_writable"] == 1)
        #expect(samples[#"facerestore_model_loaded{file="codeformer.pth",state="loaded"}"#] == 1)
        #expect(samples.series(named: "facerestore_model_loaded").count == 4)
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 0)
    }

    @Test("the scrape passes promtool check metrics", .enabled(if: Promtool.enabled, "promtool not installed"))
    func promtoolAccepts() async throws {
        let text = try await ServiceHarness().test { client in try await Self.scrapeAfterTraffic(client) }
        let result = try Promtool.checkMetrics(text)
        #expect(result.status == 0, "promtool: \(result.output)\n\(text)")
        // promtool would also accept an empty body: the series must be there.
        let samples = MetricSamples(text)
        #expect(samples[#"facerestore_http_requests_total{route="/api/process",method="POST",status="400"}"#] == 1)
        #expect(samples["facerestore_faces_found_total"] != nil && samples["facerestore_queue_wait_seconds_count"] != nil)
    }

    @Test("each service counts only its own requests")
    func separateServices() async throws {
        _ = try await ServiceHarness().test { client in try await Self.scrapeAfterTraffic(client) }
        let text = try await ServiceHarness().test { client in
            try await client.execute(uri: "/metrics", method: .get).text
        }
        #expect(MetricSamples(text).series(named: "facerestore_http_requests_total").isEmpty, "\(text)")
    }
}
