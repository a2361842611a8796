import Foundation
import Hummingbird
import Restoration

/// `POST /api/process`: the request is checked and taken in (`RestorationIntake`), restored on the
/// inference queue while the client waits, and answered with the results. Work that outlives
/// `--request-timeout` (queue included) is stopped at its next face or tile and answered with 504,
/// which points to `/api/jobs`.
struct ProcessRoute: Sendable {
    let intake: RestorationIntake
    let queue: RestorationQueue
    let timeout: Duration

    func handle(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let accepted = try await intake.accept(request, context: context)
        defer { accepted.reservation.release() }
        let ticket = try queue.submit(accepted.batch, client: context.client, monitor: RestorationMonitor(deadline: .now + timeout))
        let outputs: [BatchRestoration.Output]
        do {
            outputs = try await ticket.value(within: timeout)
        } catch RestorationError.stopped(let reason) {
            switch reason {
            case .deadline: throw ServiceError.requestDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up)))
            case .shutdown: throw ServiceError.stoppedByShutdown
            case .cancelled: throw CancellationError()
            }
        }
        for output in outputs { context.logFields.addFaces(found: output.facesFound, restored: output.facesRestored) }
        return JSONResponse.make(ProcessResponse(results: accepted.items(outputs)))
    }
}
