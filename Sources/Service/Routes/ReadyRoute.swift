import Hummingbird
import Restoration

/// `GET /api/ready`: 200 only when the service can take work (the models an ordinary request needs
/// are loaded, the networks are warmed up, and it is not draining for a shutdown), else 503 with
/// the reason and Retry-After. For load balancers and Kubernetes probes; `/api/health` stays as
/// the contract has it.
struct ReadyRoute: Sendable {
    let readiness: ServiceReadiness
    let backend: any RestorationBackend
    /// In a cluster: whether the job database answers now.
    var databaseAnswers: (@Sendable () async -> Bool)?

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        guard let reason = await notReadyReason() else {
            return JSONResponse.make(JSONDocument.object([("status", .string("ready"))]))
        }
        return JSONResponse.make(JSONDocument.object([("status", .string("not_ready")), ("reason", .string(reason))]),
                                 status: .serviceUnavailable, headers: [.retryAfter: "5"])
    }

    func notReadyReason() async -> String? {
        if readiness.isDraining { return "draining: the server is shutting down" }
        if let databaseAnswers, !(await databaseAnswers()) { return "the job database does not answer" }
        // The default request (detection, CodeFormer, ParseNet); Real-ESRGAN is needed only on request.
        if let (file, state) = try? await backend.firstUnavailable(for: RestorationOptions()) {
            return "model file \(file) is \(state.rawValue)"
        }
        if !readiness.isWarmedUp { return "warming up" }
        return nil
    }
}
