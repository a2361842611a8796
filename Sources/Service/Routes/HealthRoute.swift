import Hummingbird

/// `GET /api/health`: never waits on the inference thread, so it stays fast while a restoration
/// runs (in a cluster it asks the database, within its operation timeout).
struct HealthRoute: Sendable {
    let backend: any RestorationBackend
    let limits: ServiceLimits

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        let state = await backend.scrapeState()
        return JSONResponse.make(HealthResponse(version: ServiceInfo.version, models: state.models.states, queue: state.queue,
                                                results: state.results, limits: limits))
    }
}
