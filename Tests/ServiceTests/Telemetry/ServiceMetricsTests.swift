import Foundation
import ModelCatalog
import Restoration
import Testing
@testable import Service

/// `ServiceMetrics` on its own: what its recording methods and the scrape-time state put into the
/// exposition, sample by sample.
@Suite("Metrics: recording and exposition")
struct ServiceMetricsTests {
    static let state = ScrapeState(
        queue: .init(running: true, waiting: 2, queueDepth: 4),
        results: ResultStoreHealth(state: .writable, reason: nil, files: 3, bytes: 12_345, freeBytes: 1 << 30),
        models: ModelInventory(states: ["codeformer.pth": .loaded, "parsing_parsenet.pth": .missing],
                               detectorFile: ModelFiles.Model.detectionResNet50.fileName),
        runningJobs: 1, jobCounts: [:])

    @Test("requests are counted by route, method and status, and timed by route")
    func requests() {
        let metrics = ServiceMetrics()
        metrics.request(route: "/api/health", method: "GET", status: 200, seconds: 0.002)
        metrics.request(route: "/api/health", method: "GET", status: 200, seconds: 0.03)
        metrics.request(route: "unmatched", method: "GET", status: 404, seconds: 0.001)
        metrics.request(route: "/api/health", method: "FROB", status: 405, seconds: 0.001)
        let samples = MetricSamples(metrics.exposition(Self.state))
        #expect(samples[#"facerestore_http_requests_total{route="/api/health",method="GET",status="200"}"#] == 2)
        #expect(samples[#"facerestore_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 1)
        #expect(samples[#"facerestore_http_requests_total{route="/api/health",method="other",status="405"}"#] == 1)
        #expect(samples[#"facerestore_http_request_duration_seconds_count{route="/api/health"}"#] == 3)
        #expect(samples[#"facerestore_http_request_duration_seconds_bucket{route="/api/health",le="0.005"}"#] == 2)
        #expect(samples[#"facerestore_http_request_duration_seconds_bucket{route="/api/health",le="0.05"}"#] == 3)
        #expect(samples[#"facerestore_http_request_duration_seconds_bucket{route="/api/health",le="+Inf"}"#] == 3)
        #expect(abs((samples[#"facerestore_http_request_duration_seconds_sum{route="/api/health"}"#] ?? 0) - 0.033) < 1e-6)
    }

    @Test("histogram buckets run from 5 ms to 600 s")
    func buckets() {
        let metrics = ServiceMetrics()
        metrics.queueWait(seconds: 700)
        let samples = MetricSamples(metrics.exposition(Self.state))
        let bounds = samples.series(named: "facerestore_queue_wait_seconds_bucket").keys
            .compactMap { $0.split(separator: "\"").dropFirst().first.map(String.init) }
        #expect(Set(bounds) == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0",
                                "60.0", "120.0", "300.0", "600.0", "+Inf"])
        #expect(samples[#"facerestore_queue_wait_seconds_bucket{le="600.0"}"#] == 0)
        #expect(samples[#"facerestore_queue_wait_seconds_bucket{le="+Inf"}"#] == 1)
    }

    @Test("queue wait, stages, faces and finished jobs")
    func restorationFigures() {
        let metrics = ServiceMetrics()
        metrics.queueWait(seconds: 0.2)
        metrics.queueWait(seconds: -1)  // a clock step: dropped
        metrics.stage("detect", seconds: 0.03)
        var timings = StageTimings()
        timings.add("detect", 0.01)
        timings.add("restore", 1.5)
        metrics.record(timings)
        metrics.faces(found: 3, restored: 2)
        metrics.faces(found: 1, restored: 1)
        metrics.jobFinished(state: "failed")
        metrics.jobFinished(state: "failed")
        let samples = MetricSamples(metrics.exposition(Self.state))
        #expect(samples["facerestore_queue_wait_seconds_count"] == 1)
        #expect(samples[#"facerestore_queue_wait_seconds_bucket{le="0.1"}"#] == 0)
        #expect(samples[#"facerestore_queue_wait_seconds_bucket{le="0.25"}"#] == 1)
        #expect(samples[#"facerestore_stage_duration_seconds_count{stage="detect"}"#] == 2)
        #expect(abs((samples[#"facerestore_stage_duration_seconds_sum{stage="detect"}"#] ?? 0) - 0.04) < 1e-6)
        #expect(samples[#"facerestore_stage_duration_seconds_bucket{stage="restore",le="1.0"}"#] == 0)
        #expect(samples[#"facerestore_stage_duration_seconds_bucket{stage="restore",le="2.5"}"#] == 1)
        #expect(samples["facerestore_faces_found_total"] == 4)
        #expect(samples["facerestore_faces_restored_total"] == 3)
        #expect(samples[#"facerestore_jobs_finished_total{state="failed"}"#] == 2)
        #expect(samples[#"facerestore_jobs_finished_total{state="succeeded"}"#] == 0)
        #expect(samples[#"facerestore_jobs_finished_total{state="cancelled"}"#] == 0)
    }

    @Test("gauges are read from the service's state at scrape time")
    func gauges() throws {
        let metrics = ServiceMetrics()
        var samples = MetricSamples(metrics.exposition(Self.state))
        #expect(samples["facerestore_queue_waiting"] == 2)
        #expect(samples["facerestore_queue_running"] == 1)
        #expect(samples["facerestore_queue_capacity"] == 4)
        #expect(samples["facerestore_results_files"] == 3)
        #expect(samples["facerestore_results_bytes"] == 12_345)
        #expect(samples["facerestore_results_writable"] == 1)
        #expect(samples[#"facerestore_model_loaded{file="codeformer.pth",state="loaded"}"#] == 1)
        #expect(samples[#"facerestore_model_loaded{file="parsing_parsenet.pth",state="missing"}"#] == 0)
        for state in ["queued", "running", "succeeded", "failed", "cancelled"] {
            #expect(samples[#"facerestore_jobs{state="\#(state)"}"#] == 0)
        }
        let resident = try #require(samples["process_resident_memory_bytes"])
        #expect(resident > 1_000_000)
        let start = try #require(samples["process_start_time_seconds"])
        let now = Date().timeIntervalSince1970
        #expect(start <= now + 1 && start > now - 86_400 * 30)

        var later = Self.state
        later.queue = .init(running: false, waiting: 0, queueDepth: 4)
        later.runningJobs = 0
        later.results = ResultStoreHealth(state: .unwritable, reason: "read-only file system", files: 0, bytes: 0, freeBytes: nil)
        later.models.states["parsing_parsenet.pth"] = .unusable
        later.jobCounts = ["queued": 5, "running": 1, "succeeded": 7]
        samples = MetricSamples(metrics.exposition(later))
        #expect(samples["facerestore_queue_waiting"] == 0)
        #expect(samples["facerestore_queue_running"] == 0)
        #expect(samples["facerestore_results_files"] == 0)
        #expect(samples["facerestore_results_writable"] == 0)
        #expect(samples[#"facerestore_jobs{state="queued"}"#] == 5)
        #expect(samples[#"facerestore_jobs{state="running"}"#] == 1)
        #expect(samples[#"facerestore_jobs{state="succeeded"}"#] == 7)
        #expect(samples[#"facerestore_jobs{state="failed"}"#] == 0)
        // A changed state replaces the file's series instead of adding a second one.
        #expect(samples.series(named: "facerestore_model_loaded").keys.sorted() == [
            #"facerestore_model_loaded{file="codeformer.pth",state="loaded"}"#,
            #"facerestore_model_loaded{file="parsing_parsenet.pth",state="unusable"}"#,
        ])
    }

    @Test("every family has help and a type, families sorted by name; two services keep separate figures")
    func exposition() {
        let first = ServiceMetrics()
        let second = ServiceMetrics()
        first.faces(found: 2, restored: 2)
        first.stage("paste", seconds: 0.1)
        first.request(route: "/", method: "GET", status: 200, seconds: 0.01)
        let text = first.exposition(Self.state)
        let samples = MetricSamples(text)
        let typed = samples.typeLines.map { $0.split(separator: " ")[2] }
        let helped = samples.helpLines.map { $0.split(separator: " ")[2] }
        #expect(typed == helped)
        #expect(typed == typed.sorted())
        #expect(Set(typed.map(String.init)) == Set(MetricFamily.all.map(\.name)))
        #expect(text.contains("# TYPE facerestore_http_requests_total counter\n"))
        #expect(text.contains("# TYPE facerestore_stage_duration_seconds histogram\n"))
        #expect(text.contains("# TYPE facerestore_jobs gauge\n"))
        #expect(text.hasSuffix("\n"))

        let other = MetricSamples(second.exposition(Self.state))
        #expect(other["facerestore_faces_found_total"] == 0)
        #expect(other.series(named: "facerestore_http_requests_total").isEmpty)
        #expect(other.series(named: "facerestore_stage_duration_seconds_count").isEmpty)
    }

    @Test("the exposition passes promtool check metrics", .enabled(if: Promtool.enabled, "promtool not installed"))
    func promtoolAccepts() throws {
        let metrics = ServiceMetrics()
        metrics.request(route: "/api/jobs/{id}", method: "GET", status: 404, seconds: 0.004)
        metrics.queueWait(seconds: 3)
        metrics.stage("upsample background", seconds: 2)
        metrics.faces(found: 1, restored: 1)
        metrics.jobFinished(state: "succeeded")
        let result = try Promtool.checkMetrics(metrics.exposition(Self.state))
        #expect(result.status == 0, "\(result.output)")
    }
}
