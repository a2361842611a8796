import Foundation
import Logging
import Restoration

/// The single-process back end (no `--store`): batches run on this process's inference thread
/// (`RestorationQueue`), jobs live in memory (`JobRegistry`), results in the results folder.
struct LocalBackend: RestorationBackend {
    let queue: RestorationQueue
    let jobs: JobRegistry
    let retention: Duration
    let logger: Logger

    private var executor: InferenceExecutor { queue.executor }
    private var store: ResultStore { queue.store }

    func restore(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> [ProcessResponse.Item] {
        let ticket = try queue.submit(accepted.batch, client: client, monitor: RestorationMonitor(deadline: .now + timeout))
        do {
            return accepted.items(try await ticket.value(within: timeout))
        } catch RestorationError.stopped(let reason) {
            switch reason {
            case .deadline: throw ServiceError.requestDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up)))
            case .shutdown: throw ServiceError.stoppedByShutdown
            case .cancelled: throw CancellationError()
            }
        }
    }

    func submitJob(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> String {
        let store = self.store
        let job = RestorationJob(images: accepted.names.count, retention: retention) { store.read($0) }
        let ticket: RestorationQueue.Ticket
        do {
            let monitor = RestorationMonitor(deadline: .now + timeout) { job.progressed($0) }
            ticket = try queue.submit(accepted.batch, client: client, monitor: monitor) { job.markRunning() }
        } catch {
            accepted.reservation.release()
            throw error
        }
        job.attach(ticket)
        jobs.add(job)
        // Recorded on the thread that ends the work, not on a task that might wait for a free thread.
        let (logger, metrics) = (self.logger, queue.metrics)
        ticket.whenDone { outcome in
            accepted.reservation.release()
            switch outcome {
            case .success(let outputs): job.succeed(accepted.items(outputs))
            case .failure(let error):
                if let failure = JobOutcome.failure(of: error, timeout: timeout, job: job.id, logger: logger) {
                    job.fail(failure)
                } else {
                    job.markCancelled()
                }
            }
            metrics.jobFinished(state: job.currentStatus.rawValue)
        }
        return job.id
    }

    func job(_ id: String) async throws -> JobSnapshot? { jobs.job(id)?.snapshot() }

    func cancelJob(_ id: String) async throws -> JobSnapshot? {
        guard let job = jobs.job(id) else { return nil }
        job.cancel()
        return job.snapshot()
    }

    func watchJob(_ id: String) async throws -> AsyncStream<JobSnapshot>? { jobs.job(id)?.watch() }

    func result(_ name: String) async throws -> Data? { store.read(name) }

    func retryAfterIfFull(client: String?) async throws -> Int? { executor.retryAfterIfFull(client: client) }

    func secondsUntilNextSlot() async -> Int { executor.secondsUntilNextSlot }

    func firstUnavailable(for options: RestorationOptions) async throws -> (file: String, state: ModelInventory.State)? {
        queue.restorer.inventory.firstUnavailable(for: options)
    }

    func inventory() async -> ModelInventory { queue.restorer.inventory }

    func endWatches() { jobs.endWatches() }

    func scrapeState() async -> ScrapeState {
        let status = executor.status
        return ScrapeState(queue: status, results: store.health, models: queue.restorer.inventory, runningJobs: status.running ? 1 : 0,
                           jobCounts: Dictionary(uniqueKeysWithValues: jobs.counts().map { ($0.key.rawValue, $0.value) }))
    }
}

/// How a job's work ended, as the job records it: one rule for jobs run here and on a cluster's workers.
enum JobOutcome {
    /// The failure a job records for `error` (nil: it was cancelled). Unexpected errors are logged
    /// under the reference the client sees.
    static func failure(of error: any Error, timeout: Duration, job: String, logger: Logger) -> ServiceError? {
        switch error {
        case RestorationError.stopped(.deadline):
            return .jobDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up)))
        case RestorationError.stopped(.shutdown):
            return .stoppedByShutdown
        case RestorationError.stopped(.cancelled), is CancellationError:
            return nil
        case let error as ServiceError:
            return error
        default:
            let failure = ErrorResponseMiddleware<ServiceRequestContext>.serviceError(for: error, path: "/api/jobs")
            if case .internalError(let reference) = failure {
                logger.error("job failed with an unexpected error",
                             metadata: ["job": "\(job)", "reference": "\(reference)", "error": "\(String(reflecting: error))"])
            }
            return failure
        }
    }
}
