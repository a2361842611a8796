import Foundation
import JobDatabase
import Logging
import Restoration
import ServiceLifecycle

/// Runs a cluster's jobs on this process's inference thread (`facerestore worker`, and `serve
/// --store` unless `--no-inference`): claims the oldest queued job when one is announced (or every
/// two seconds), renews its lease while it runs, and records how it ended. Progress goes to the
/// database as the job moves; a client's cancel, a lost lease or the job's deadline stop it at its
/// next face or tile. On SIGTERM it claims nothing more; the job in hand may finish within the
/// shutdown grace, else it goes back to the queue for another worker.
struct ClusterWorker: Service {
    let database: JobDatabase
    let notifications: JobNotifications
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let metrics: ServiceMetrics
    let lease: Duration
    let shutdownGrace: Duration
    let logger: Logger
    /// Whether to take more work (a replica that is draining for shutdown does not).
    let takesWork: @Sendable () -> Bool
    /// How this worker is known in the database: host, process and a random part.
    let id: String

    init(database: JobDatabase, notifications: JobNotifications, restorer: any PhotoRestorer, executor: InferenceExecutor,
         metrics: ServiceMetrics, lease: Duration, shutdownGrace: Duration, logger: Logger,
         takesWork: @escaping @Sendable () -> Bool = { true }) {
        self.takesWork = takesWork
        self.database = database
        self.notifications = notifications
        self.restorer = restorer
        self.executor = executor
        self.metrics = metrics
        self.lease = lease
        self.shutdownGrace = shutdownGrace
        self.logger = logger
        id = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(RestorationJob.newID().prefix(6))"
    }

    /// How often the lease is renewed and the heartbeat sent: three times per lease.
    var renewalInterval: Duration { max(.milliseconds(50), lease / 3) }

    func run() async throws {
        logger.info("worker \(id) takes jobs from \(database.location)")  // the id is in the job's lease_owner
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeats() }
            defer { group.cancelAll() }
            let announcements = notifications.changes(of: nil, to: .queued)
            for await _ in ClusterBackend.ticking(announcements, every: .seconds(2), startingNow: true) {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                while !Task.isShuttingDownGracefully, !Task.isCancelled, takesWork(),
                      let job = try? await database.claim(worker: id, lease: lease) {
                    await run(job)
                }
            }
        }
        try? await database.leave(worker: id)
        logger.info("worker \(id) stopped")
    }

    /// Tells the cluster this worker is alive and what it can run, until cancelled.
    private func heartbeats() async {
        let models = restorer.inventory.encoded
        let host = ProcessInfo.processInfo.hostName
        while !Task.isCancelled {
            do {
                try await database.heartbeat(worker: id, host: host, models: models)
            } catch {
                logger.debug("heartbeat failed: \(error)")
            }
            try? await Task.sleep(for: renewalInterval)
        }
    }

    /// Runs one claimed job to its end and records the end.
    private func run(_ job: ClaimedJob) async {
        let log = logger.with(["job": "\(job.id)", "attempt": "\(job.attempt)"])
        let request: ClusterJobRequest
        do {
            request = try ClusterJobRequest.decode(job.request)
        } catch {
            log.error("a job's request could not be read: \(error)")
            await record(job, log: log) { try await database.finish(job.id, worker: id, failure: .reported(status: 500, message: "internal error: the job's request could not be read")) }
            return
        }
        let progress = ProgressRelay()
        let monitor = RestorationMonitor(deadline: .now + job.timeLeft) { progress.post($0) }
        let lease = LeaseWatch()
        let batch = request.batch(inputs: job.inputs)
        let (restorer, executor) = (self.restorer, self.executor)
        let outcome: Result<BatchRestoration.Restored, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { await keepLease(job.id, monitor: monitor, watch: lease) }
            group.addTask { await progress.forward { try? await database.reportProgress(job.id, worker: id, progress: $0) } }
            group.addTask { await stopAfterGrace(monitor) }
            defer { group.cancelAll() }
            do {
                return .success(try await executor.run { try batch.restore(restorer: restorer, monitor: monitor) })
            } catch {
                return .failure(error)
            }
        }
        if lease.isLost {
            log.warning("the lease on a job was lost while it ran (the database was unreachable for longer than the lease); another worker may run it, nothing of this run is kept")
            return
        }
        switch outcome {
        case .success(let restored):
            for output in restored.outputs {
                metrics.record(output.timings)
                metrics.faces(found: output.facesFound, restored: output.facesRestored)
            }
            let results = StoredItem.encode(request.items(restored.outputs))
            await record(job, log: log) { try await database.succeed(job.id, worker: id, results: results, files: restored.files) }
            metrics.jobFinished(state: "succeeded")
        case .failure(RestorationError.stopped(.shutdown)):
            log.notice("shutdown grace is over: giving the job back to the queue")
            await record(job, log: log) { try await database.release(job.id, worker: id); return true }
        case .failure(RestorationError.stopped(.deadline)):
            await record(job, log: log) { try await database.finish(job.id, worker: id, failure: job.timeoutFailure) }
            metrics.jobFinished(state: "failed")
        case .failure(let error):
            let failure = JobOutcome.failure(of: error, timeout: job.timeLeft, job: job.id, logger: log)
            await record(job, log: log) {
                try await database.finish(job.id, worker: id, failure: failure.map(JobFailure.init))
            }
            metrics.jobFinished(state: failure == nil ? "cancelled" : "failed")
        }
    }

    /// Writes a job's end, trying again while the database is away, for as long as the lease could
    /// still be ours (after that the upkeep gives the job to another worker anyway).
    private func record(_ job: ClaimedJob, log: Logger, _ write: @escaping @Sendable () async throws -> Bool) async {
        let giveUp = ContinuousClock.now + lease + .seconds(30)
        while true {
            do {
                if !(try await write()) { log.warning("the job was no longer this worker's when it ended; nothing was written") }
                return
            } catch {
                guard ContinuousClock.now < giveUp else {
                    log.error("the end of a job could not be written: \(error); it will run again elsewhere")
                    return
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Renews the lease until cancelled; stops the work when a client cancels or the lease is lost.
    private func keepLease(_ job: String, monitor: RestorationMonitor, watch: LeaseWatch) async {
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: renewalInterval)
            if Task.isCancelled { return }
            switch try? await database.renew(job, worker: id, lease: lease) {
            case .held(let cancelRequested):
                lastRenewal = .now
                if cancelRequested { monitor.stop(.cancelled) }
            case .lost:
                watch.markLost()
                monitor.stop(.cancelled)
                return
            case nil:
                // The database is away; past the lease another worker may have the job.
                if ContinuousClock.now - lastRenewal > lease {
                    watch.markLost()
                    monitor.stop(.cancelled)
                    return
                }
            }
        }
    }

    /// After SIGTERM, lets the job run for the shutdown grace, then stops it.
    private func stopAfterGrace(_ monitor: RestorationMonitor) async {
        do {
            try await gracefulShutdown()
            try await Task.sleep(for: shutdownGrace)
            monitor.stop(.shutdown)
        } catch {
            return
        }
    }
}

/// Whether a worker lost its lease on the job it runs.
final class LeaseWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var lost = false

    var isLost: Bool { lock.withLock { lost } }
    func markLost() { lock.withLock { lost = true } }
}

/// The latest progress of a running job, handed from the inference thread to a task that writes it
/// to the database; progress made while a write is under way is coalesced into the next one.
final class ProgressRelay: @unchecked Sendable {
    private let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))

    func post(_ progress: RestorationMonitor.Progress) {
        continuation.yield(StoredProgress(progress).encoded)
    }

    /// Calls `write` with each progress posted, until cancelled.
    func forward(_ write: @Sendable (String) async -> Void) async {
        for await progress in stream {
            if Task.isCancelled { return }
            await write(progress)
        }
    }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
