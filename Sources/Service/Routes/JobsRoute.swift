import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Restoration

/// `/api/jobs`: the body of `/api/process`, restored in the background. `POST` answers 202 with
/// the job's id and URLs as soon as the request is checked and queued (the same checks, errors and
/// queue bound as `/api/process`); `GET /api/jobs/{id}` reports it, `GET …/events` streams its
/// changes as Server-Sent Events, `DELETE` cancels it. A job runs at most `--job-timeout`.
struct JobsRoute: Sendable {
    let intake: RestorationIntake
    let backend: any RestorationBackend
    let timeout: Duration

    func submit(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let accepted = try await intake.accept(request, context: context)
        let id = try await backend.submitJob(accepted, client: context.client, timeout: timeout)
        let statusURL = "\(accepted.baseURL)/api/jobs/\(id)"
        let body = JSONDocument.object([
            ("status", .string("queued")),
            ("job_id", .string(id)),
            ("status_url", .string(statusURL)),
            ("events_url", .string(statusURL + "/events")),
        ])
        return JSONResponse.make(body, status: .accepted, headers: [.location: statusURL])
    }

    func show(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let id = jobID(context)
        guard let job = try await backend.job(id) else { throw ServiceError.jobNotFound(id: String(id.prefix(64))) }
        return JSONResponse.make(job)
    }

    func cancel(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let id = jobID(context)
        guard let job = try await backend.cancelJob(id) else { throw ServiceError.jobNotFound(id: String(id.prefix(64))) }
        return JSONResponse.make(job)
    }

    func events(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let id = jobID(context)
        guard let snapshots = try await backend.watchJob(id) else { throw ServiceError.jobNotFound(id: String(id.prefix(64))) }
        let backend = self.backend
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
                                   HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await JobEventStream(snapshots: snapshots) { try? await backend.job(id) }.write(to: &writer)
        })
    }

    private func jobID(_ context: ServiceRequestContext) -> String {
        context.parameters.get("id") ?? ""
    }
}
