import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Restoration

/// `/api/jobs`: the body of `/api/process`, restored in the background. `POST` answers 202 with
/// the job's id and URLs as soon as the request is checked and queued (the same checks, errors and
/// queue bound as `/api/process`); `GET /api/jobs/{id}` reports it, `GET …/events` streams its
/// changes as Server-Sent Events, `DELETE` cancels it. A job runs at most `--job-timeout`.
struct JobsRoute: Sendable {
    let intake: RestorationIntake
    let queue: RestorationQueue
    let jobs: JobRegistry
    let store: ResultStore
    let retention: Duration
    let timeout: Duration
    /// Called with each job's final state (for `/metrics`).
    var onFinish: @Sendable (RestorationJob.Status) -> Void = { _ in }

    func submit(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let accepted = try await intake.accept(request, context: context)
        let store = self.store
        let job = RestorationJob(images: accepted.names.count, retention: retention) { store.read($0) }
        let ticket: RestorationQueue.Ticket
        do {
            let monitor = RestorationMonitor(deadline: .now + timeout) { job.progressed($0) }
            ticket = try queue.submit(accepted.batch, client: context.client, monitor: monitor) { job.markRunning() }
        } catch {
            accepted.reservation.release()
            throw error
        }
        job.attach(ticket)
        jobs.add(job)
        // Recorded on the thread that ends the work, not on a task that might wait for a free thread.
        let (timeout, logger, onFinish) = (self.timeout, context.logger, self.onFinish)
        ticket.whenDone { outcome in
            accepted.reservation.release()
            switch outcome {
            case .success(let outputs):
                job.succeed(accepted.items(outputs))
            case .failure(RestorationError.stopped(.deadline)):
                job.fail(.jobDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up))))
            case .failure(RestorationError.stopped(.shutdown)):
                job.fail(.stoppedByShutdown)
            case .failure(RestorationError.stopped(.cancelled)), .failure(is CancellationError):
                job.markCancelled()
            case .failure(let error as ServiceError):
                job.fail(error)
            case .failure(let error):
                let failure = ErrorResponseMiddleware<ServiceRequestContext>.serviceError(for: error, path: "/api/jobs")
                if case .internalError(let reference) = failure {
                    logger.error("job failed with an unexpected error",
                                 metadata: ["job": "\(job.id)", "reference": "\(reference)", "error": "\(String(reflecting: error))"])
                }
                job.fail(failure)
            }
            onFinish(job.currentStatus)
        }

        let statusURL = "\(accepted.baseURL)/api/jobs/\(job.id)"
        let body = JSONDocument.object([
            ("status", .string("queued")),
            ("job_id", .string(job.id)),
            ("status_url", .string(statusURL)),
            ("events_url", .string(statusURL + "/events")),
        ])
        return JSONResponse.make(body, status: .accepted, headers: [.location: statusURL])
    }

    func show(_ request: Request, context: ServiceRequestContext) throws -> Response {
        JSONResponse.make(try job(context).snapshot())
    }

    func cancel(_ request: Request, context: ServiceRequestContext) throws -> Response {
        let job = try job(context)
        job.cancel()
        return JSONResponse.make(job.snapshot())
    }

    func events(_ request: Request, context: ServiceRequestContext) throws -> Response {
        let job = try job(context)
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
                                   HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await JobEventStream(job: job).write(to: &writer)
        })
    }

    private func job(_ context: ServiceRequestContext) throws -> RestorationJob {
        let id = context.parameters.get("id") ?? ""
        guard let job = jobs.job(id) else { throw ServiceError.jobNotFound(id: String(id.prefix(64))) }
        return job
    }
}
