import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text format, gauges read from the service as it is now. Like
/// `/api/health` it never waits on the inference thread; in a cluster the queue, job and result
/// gauges are the cluster's, counted in the database.
struct MetricsRoute: Sendable {
    let metrics: ServiceMetrics
    let backend: any RestorationBackend

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        let text = metrics.exposition(await backend.scrapeState())
        return Response(status: .ok, headers: [.contentType: PrometheusText.contentType],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
