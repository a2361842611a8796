import Foundation
import JobDatabase
import Logging
import Restoration
import HTTPTypes

/// The cluster back end (`--store postgres://…`): every batch, synchronous or not, is a job in the
/// shared database; any worker runs it, any replica reports it and serves its results. A synchronous
/// request waits for its job's announcement (`JobNotifications`), looking again every second in
/// case one is lost. The queue bound, Retry-After and the models a request needs are the cluster's.
struct ClusterBackend: RestorationBackend {
    let database: JobDatabase
    let notifications: JobNotifications
    let configuration: ServiceConfiguration
    let workers: ClusterWorkerDirectory
    let readiness: ServiceReadiness
    let logger: Logger
    /// The event streams this replica is sending, ended when it stops.
    let watches = WatchList()

    init(database: JobDatabase, notifications: JobNotifications, configuration: ServiceConfiguration, readiness: ServiceReadiness,
         logger: Logger) {
        self.database = database
        self.notifications = notifications
        self.configuration = configuration
        // A worker counts as alive while it was heard from within two leases (at least 10 s).
        workers = ClusterWorkerDirectory(database: database, window: max(.seconds(10), configuration.lease * 2))
        self.readiness = readiness
        self.logger = logger
    }

    private var retention: Duration { configuration.retention }

    func restore(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> [ProcessResponse.Item] {
        let id = RestorationJob.newID()
        let failure = ServiceError.requestDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up)))
        // Listening before the job exists: its first announcement cannot be missed.
        let changes = notifications.changes(of: id)
        try await enqueue(accepted, id: id, client: client, timeout: timeout, timeoutFailure: failure)
        // The worker stops the job at its deadline and records the 504; a little longer here lets that arrive.
        let giveUp = ContinuousClock.now + timeout + .seconds(5)
        let record: JobRecord
        do {
            record = try await waitForEnd(of: id, changes: changes, until: giveUp)
        } catch is CancellationError {
            // The client went away: its job is not wanted any more.
            _ = try? await database.cancel(id)
            throw CancellationError()
        }
        switch record.state {
        case .succeeded:
            return try await items(of: record, withBase64: accepted.batch.returnBase64)
        case .failed:
            throw ServiceError(record.failure)
        case .cancelled:
            throw CancellationError()
        case .queued, .running:
            if readiness.isDraining {
                // This replica is stopping and its grace is over: nobody will wait for the job.
                _ = try? await database.cancel(id)
                throw ServiceError.stoppedByShutdown
            }
            try? await database.failIfQueued(id, failure: JobFailure(failure))
            throw failure
        }
    }

    func submitJob(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> String {
        defer { accepted.reservation.release() }
        let id = RestorationJob.newID()
        try await enqueue(accepted, id: id, client: client, timeout: timeout,
                          timeoutFailure: .jobDeadlineExceeded(seconds: Int(timeout.timeInterval.rounded(.up))))
        return id
    }

    func job(_ id: String) async throws -> JobSnapshot? {
        guard let record = try await database.job(id) else { return nil }
        return try await snapshot(record)
    }

    func cancelJob(_ id: String) async throws -> JobSnapshot? {
        guard let record = try await database.cancel(id) else { return nil }
        return try await snapshot(record)
    }

    func watchJob(_ id: String) async throws -> AsyncStream<JobSnapshot>? {
        let changes = notifications.changes(of: id)
        guard let first = try await job(id) else { return nil }
        let (stream, continuation) = AsyncStream.makeStream(of: JobSnapshot.self, bufferingPolicy: .bufferingNewest(64))
        continuation.yield(first)
        guard !first.status.isFinal else {
            continuation.finish()
            return stream
        }
        let backend = self
        let follower = Task {
            var last = first
            for await _ in ClusterBackend.ticking(changes, every: .seconds(1)) {
                guard let now = try? await backend.job(id) else { continue }  // the database is away: look again later
                if now != last {
                    continuation.yield(now)
                    last = now
                }
                if now.status.isFinal { break }
            }
            continuation.finish()
        }
        let key = watches.add(continuation)
        continuation.onTermination = { [watches] _ in
            follower.cancel()
            watches.remove(key)
        }
        return stream
    }

    func endWatches() { watches.endAll() }

    func result(_ name: String) async throws -> Data? {
        try await database.result(name)
    }

    func retryAfterIfFull(client: String?) async throws -> Int? {
        let counts = try await database.queueCounts()
        guard counts.waiting >= configuration.queueDepth else { return nil }
        return await estimatedWait(waiting: counts.waiting)
    }

    func secondsUntilNextSlot() async -> Int {
        await estimatedWait(waiting: (try? await database.queueCounts().waiting) ?? 1)
    }

    func firstUnavailable(for options: RestorationOptions) async throws -> (file: String, state: ModelInventory.State)? {
        // No worker alive: the job waits in the queue for one rather than being refused.
        guard let inventory = try await workers.combinedInventory() else { return nil }
        return inventory.firstUnavailable(for: options)
    }

    func inventory() async -> ModelInventory {
        (try? await workers.combinedInventory()) ?? ModelInventory(states: [:], detectorFile: "")
    }

    func scrapeState() async -> ScrapeState {
        let counts = (try? await database.queueCounts()) ?? (waiting: 0, running: 0)
        let results = try? await database.resultCounts()
        let states = (try? await database.stateCounts()) ?? [:]
        let health = ResultStoreHealth(state: results == nil ? .unwritable : .writable,
                                       reason: results == nil ? "the job database does not answer" : nil,
                                       files: results?.files ?? 0, bytes: results?.bytes ?? 0, freeBytes: nil)
        return ScrapeState(queue: InferenceExecutor.Status(running: counts.running > 0, waiting: counts.waiting,
                                                           queueDepth: configuration.queueDepth),
                           results: health, models: await inventory(), runningJobs: counts.running,
                           jobCounts: Dictionary(uniqueKeysWithValues: states.map { ($0.key.rawValue, $0.value) }))
    }

    // MARK: helpers

    private func enqueue(_ accepted: RestorationIntake.Accepted, id: String, client: String?, timeout: Duration,
                         timeoutFailure: ServiceError) async throws {
        let job = NewJob(id: id, request: ClusterJobRequest(accepted).encoded, inputs: accepted.batch.images.map(\.data), client: client,
                         timeout: timeout, timeoutFailure: JobFailure(timeoutFailure),
                         retention: retention, maxAttempts: configuration.maxAttempts)
        if case .full(let waiting) = try await database.submit(job, capacity: configuration.queueDepth) {
            throw ServiceError.atCapacity(retryAfterSeconds: await estimatedWait(waiting: waiting))
        }
    }

    /// Waits until job `id` is final or `deadline` passes; returns it as it is then.
    private func waitForEnd(of id: String, changes: AsyncStream<Void>, until deadline: ContinuousClock.Instant) async throws -> JobRecord {
        var last: JobRecord?
        for await _ in Self.ticking(changes, every: .seconds(1), startingNow: true) {
            try Task.checkCancellation()
            if let record = try? await database.job(id) {
                last = record
                if record.state.isFinal { return record }
            }
            if ContinuousClock.now >= deadline { break }
            if let draining = readiness.drainingFor, draining >= configuration.shutdownGrace { break }
        }
        try Task.checkCancellation()
        guard let last else {
            throw readiness.isDraining ? ServiceError.stoppedByShutdown : ServiceError.databaseUnavailable(retryAfterSeconds: 5)
        }
        return last
    }

    /// `changes`, plus a wake-up every `interval` (and one at once when `startingNow`), ending when
    /// the calling task is cancelled.
    static func ticking(_ changes: AsyncStream<Void>, every interval: Duration, startingNow: Bool = false) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        if startingNow { continuation.yield() }
        let relay = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in changes { continuation.yield() }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        continuation.yield()
                    }
                }
                await group.next()
                group.cancelAll()
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in relay.cancel() }
        return stream
    }

    /// Retry-After for a queue with `waiting` jobs: recent jobs' mean time, shared among the live workers.
    private func estimatedWait(waiting: Int) async -> Int {
        let mean = (try? await database.recentRunSeconds()) ?? nil
        let workerCount = max(1, (try? await workers.liveCount()) ?? 1)
        let seconds = (mean ?? 5) * Double(waiting + 1) / Double(workerCount)
        return Int(min(3600, max(1, seconds.rounded(.up))))
    }

    /// The items of a succeeded job; with their base64 read back from the stored results when asked.
    private func items(of record: JobRecord, withBase64: Bool) async throws -> [ProcessResponse.Item] {
        let stored = (try? StoredItem.decode(record.results ?? "[]")) ?? []
        var items: [ProcessResponse.Item] = []
        for item in stored {
            let base64 = withBase64 ? try await database.result(item.filename)?.base64EncodedString() : nil
            items.append(item.item(base64: base64))
        }
        return items
    }

    /// The job object of `record`.
    private func snapshot(_ record: JobRecord) async throws -> JobSnapshot {
        let status = RestorationJob.Status(rawValue: record.state.rawValue) ?? .failed
        let progress = record.progress.flatMap(StoredProgress.decode)?.progress
        let request = try? ClusterJobRequest.decode(record.request)
        let results = status == .succeeded ? try await items(of: record, withBase64: request?.returnBase64 ?? false) : nil
        return JobSnapshot(id: record.id, status: status, createdAt: record.createdAt, updatedAt: record.updatedAt,
                           expiresAt: record.expiresAt, queuePosition: record.queuePosition,
                           progress: status == .running ? progress ?? RestorationMonitor.Progress(stage: .decode, images: record.images) : nil,
                           fraction: status == .succeeded ? 1 : status == .queued ? 0 : progress?.fraction ?? 0,
                           cancelRequested: record.cancelRequested && !status.isFinal, results: results,
                           failure: status == .failed ? ServiceError(record.failure) : nil)
    }
}

extension JobFailure {
    /// How the database records `error` for a job: its status and message, as the client sees them.
    init(_ error: ServiceError) {
        self = .reported(status: Int(error.status.code), message: error.message)
    }
}

extension ServiceError {
    /// The error a failed job of the cluster answers with.
    init(_ failure: JobFailure?) {
        switch failure {
        case .reported(let status, let message): self = .relayed(statusCode: status, message: message)
        case .workersLost(let attempts): self = .workersLost(attempts: attempts)
        case nil: self = .workersLost(attempts: 0)
        }
    }
}

/// Event streams being sent, so a stopping replica can end them.
final class WatchList: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [Int: AsyncStream<JobSnapshot>.Continuation] = [:]
    private var next = 0

    func add(_ continuation: AsyncStream<JobSnapshot>.Continuation) -> Int {
        lock.withLock {
            defer { next += 1 }
            streams[next] = continuation
            return next
        }
    }

    func remove(_ key: Int) { lock.withLock { _ = streams.removeValue(forKey: key) } }

    func endAll() {
        for continuation in lock.withLock({ Array(streams.values) }) { continuation.finish() }
    }
}
