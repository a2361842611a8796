import Foundation
import Hummingbird
import Restoration

/// `POST /api/process`: the request is checked and taken in (`RestorationIntake`), restored by the
/// back end while the client waits, and answered with the results. Work that outlives
/// `--request-timeout` (queue included) is stopped at its next face or tile and answered with 504,
/// which points to `/api/jobs`.
struct ProcessRoute: Sendable {
    let intake: RestorationIntake
    let backend: any RestorationBackend
    let timeout: Duration

    func handle(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let accepted = try await intake.accept(request, context: context)
        defer { accepted.reservation.release() }
        let items = try await backend.restore(accepted, client: context.client, timeout: timeout)
        for item in items { context.logFields.addFaces(found: item.facesFound, restored: item.facesRestored) }
        return JSONResponse.make(ProcessResponse(results: items))
    }
}
