import CoreMetrics
import Foundation
import Prometheus
import Restoration

/// The service's Prometheus metrics (`GET /metrics`). Each service owns its registry and creates
/// its metrics through the swift-metrics API with that registry's factory: the global
/// `MetricsSystem` is never bootstrapped, so services sharing a process (the tests run many) keep
/// their own figures. Counters and histograms are fed as things happen; gauges are set at scrape
/// time from `ScrapeState` and `jobCounts`.
final class ServiceMetrics: @unchecked Sendable {
    /// Histogram buckets for every duration: a fast request (5 ms) to a long restoration (10 min).
    static let durationBuckets: [Duration] =
        [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000].map { .milliseconds($0) }
    /// The states `facerestore_jobs` reports (always all of them; a state the provider leaves out is 0).
    static let jobStates = ["queued", "running", "succeeded", "failed", "cancelled"]
    /// The final states, whose `facerestore_jobs_finished_total` series exist from the start at 0.
    static let finalJobStates = ["succeeded", "failed", "cancelled"]
    /// Methods named in `facerestore_http_requests_total`; any other is counted as `other`.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let queueWaitTimer: CoreMetrics.Timer
    private let facesFoundCounter: CoreMetrics.Counter
    private let facesRestoredCounter: CoreMetrics.Counter

    private let lock = NSLock()
    /// The `state` label each model file's gauge carries now, so a change replaces the series.
    private var modelStateLabels: [String: String] = [:]

    init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.registry = registry
        self.factory = factory
        queueWaitTimer = CoreMetrics.Timer(label: MetricFamily.queueWait.name, factory: factory)
        facesFoundCounter = CoreMetrics.Counter(label: MetricFamily.facesFound.name, factory: factory)
        facesRestoredCounter = CoreMetrics.Counter(label: MetricFamily.facesRestored.name, factory: factory)
        for state in Self.finalJobStates {
            _ = CoreMetrics.Counter(label: MetricFamily.jobsFinished.name, dimensions: [("state", state)], factory: factory)
        }
    }

    // MARK: Recording

    /// One request answered: `route` is the route template (`/api/jobs/{id}`, or `unmatched`),
    /// `seconds` from its arrival to the end of its response body.
    func request(route: String, method: String, status: Int, seconds: Double) {
        let method = Self.knownMethods.contains(method) ? method : "other"
        CoreMetrics.Counter(label: MetricFamily.httpRequests.name,
                            dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            .increment()
        recordDuration(seconds, in: CoreMetrics.Timer(label: MetricFamily.httpRequestDuration.name, dimensions: [("route", route)], factory: factory))
    }

    /// Seconds a restoration waited in the inference queue before it started.
    func queueWait(seconds: Double) {
        recordDuration(seconds, in: queueWaitTimer)
    }

    /// Seconds one pipeline stage took, under the stage's name (`detect`, `restore`, ...).
    func stage(_ name: String, seconds: Double) {
        recordDuration(seconds, in: CoreMetrics.Timer(label: MetricFamily.stageDuration.name, dimensions: [("stage", name)], factory: factory))
    }

    /// Every stage of one restoration.
    func record(_ timings: StageTimings) {
        for stage in timings.stages { self.stage(stage.name, seconds: stage.seconds) }
    }

    /// Faces found and restored in one restored image.
    func faces(found: Int, restored: Int) {
        facesFoundCounter.increment(by: max(0, found))
        facesRestoredCounter.increment(by: max(0, restored))
    }

    /// A job reached its final state (`succeeded`, `failed` or `cancelled`).
    func jobFinished(state: String) {
        CoreMetrics.Counter(label: MetricFamily.jobsFinished.name, dimensions: [("state", state)], factory: factory).increment()
    }

    /// A duration into a histogram; negative and non-finite values (a clock step) are dropped.
    private func recordDuration(_ seconds: Double, in timer: CoreMetrics.Timer) {
        guard seconds.isFinite, seconds >= 0 else { return }
        timer.recordNanoseconds(Int64(min(seconds, 1e9) * 1e9))
    }

    // MARK: Scraping

    /// The text `/metrics` answers: gauges set from `state` first, then every family.
    func exposition(_ state: ScrapeState) -> String {
        refreshGauges(state)
        return PrometheusText.withHelp(registry.emitToString(), families: MetricFamily.all)
    }

    private func refreshGauges(_ state: ScrapeState) {
        gauge(.queueWaiting).record(state.queue.waiting)
        gauge(.queueRunning).record(state.runningJobs)
        gauge(.queueCapacity).record(state.queue.queueDepth)

        let counts = state.jobCounts
        for job in Self.jobStates {
            gauge(.jobs, [("state", job)]).record(counts[job] ?? 0)
        }

        gauge(.resultFiles).record(state.results.files)
        gauge(.resultBytes).record(state.results.bytes)
        gauge(.resultsWritable).record(state.results.state == .writable ? 1 : 0)

        for (file, modelState) in state.models.states {
            let label = modelState.rawValue
            let previous = lock.withLock { modelStateLabels.updateValue(label, forKey: file) }
            if let previous, previous != label {
                gauge(.modelLoaded, [("file", file), ("state", previous)]).destroy()
            }
            gauge(.modelLoaded, [("file", file), ("state", label)]).record(modelState == .loaded ? 1 : 0)
        }

        if let bytes = ProcessStatistics.residentMemoryBytes() { gauge(.residentMemory).record(bytes) }
        if let start = ProcessStatistics.startTime { gauge(.startTime).record(start) }
    }

    private func gauge(_ family: MetricFamily, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: family.name, dimensions: dimensions, factory: factory)
    }
}
