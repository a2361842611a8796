import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text format, gauges read from the service as it is now. Like
/// `/api/health` it answers from memory and never waits on the inference thread.
struct MetricsRoute: Sendable {
    let metrics: ServiceMetrics
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore

    func handle(_ request: Request, context: some RequestContext) -> Response {
        let text = metrics.exposition(ScrapeState(queue: executor.status, results: store.health, models: restorer.inventory))
        return Response(status: .ok, headers: [.contentType: PrometheusText.contentType],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
