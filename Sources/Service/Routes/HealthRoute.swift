import Hummingbird

/// `GET /api/health`: answers from memory, never waiting on the inference thread, so it stays fast
/// while a restoration runs.
struct HealthRoute: Sendable {
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore
    let limits: ServiceLimits

    func handle(_ request: Request, context: some RequestContext) -> Response {
        JSONResponse.make(HealthResponse(version: ServiceInfo.version, models: restorer.inventory.states, queue: executor.status,
                                         results: store.health, limits: limits))
    }
}
