import Foundation
import Restoration

/// One restoration submitted through `POST /api/jobs`: its state as clients see it, and the streams
/// of `GET /api/jobs/{id}/events` that follow it. States move forward only (queued, running, then
/// one of succeeded, failed, cancelled); the first final state wins.
final class RestorationJob: @unchecked Sendable {
    enum Status: String, Sendable, CaseIterable {
        case queued, running, succeeded, failed, cancelled

        var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
    }

    /// 128 random bits as 32 lowercase hex digits: unguessable, so a job id is its own capability.
    let id: String
    let createdAt: Date
    let images: Int
    /// How long a finished job stays visible (the results' retention).
    let retention: Duration
    /// Reads a result file back: a job asked for `return_base64` gets its images' base64 from the
    /// files when it is shown, so finished jobs do not hold megabytes each in memory for an hour.
    private let readResult: @Sendable (String) -> Data?
    private var resultsWithBase64 = false
    private let lock = NSLock()
    private var status = Status.queued
    private var updatedAt: Date
    private var finishedAt: Date?
    private var progress: RestorationMonitor.Progress?
    private var cancelRequested = false
    private var results: [ProcessResponse.Item]?
    private var failure: ServiceError?
    private var ticket: RestorationQueue.Ticket?
    private var watchers: [Int: AsyncStream<JobSnapshot>.Continuation] = [:]
    private var nextWatcher = 0

    /// - Parameter images: how many images the request has (the first progress names image 1 of them).
    init(id: String = RestorationJob.newID(), images: Int = 1, retention: Duration, now: Date = Date(),
         readResult: @escaping @Sendable (String) -> Data? = { _ in nil }) {
        self.id = id
        self.images = images
        self.retention = retention
        self.readResult = readResult
        createdAt = now
        updatedAt = now
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// The queue's ticket, for the place in line and for cancelling.
    func attach(_ ticket: RestorationQueue.Ticket) {
        lock.withLock { self.ticket = ticket }
    }

    var currentStatus: Status { lock.withLock { status } }

    /// When a finished job stops being reported: `retention` after it ended; nil while it runs.
    var expiry: Date? {
        lock.withLock { finishedAt.map { $0.addingTimeInterval(retention.timeInterval) } }
    }

    /// Whether the job ended longer than `retention` before `now` (then it is no longer reported).
    func hasExpired(at now: Date) -> Bool {
        expiry.map { $0 <= now } ?? false
    }

    func snapshot() -> JobSnapshot {
        let ticket = lock.withLock { self.ticket }
        let place = ticket?.place  // asked outside the job's lock: the executor has its own
        return lock.withLock { makeSnapshot(place: place) }
    }

    // MARK: changes

    func markRunning() {
        change {
            guard $0.status == .queued else { return false }
            $0.status = .running
            if $0.progress == nil { $0.progress = RestorationMonitor.Progress(stage: .decode, image: 1, images: $0.images) }
            return true
        }
    }

    func progressed(_ progress: RestorationMonitor.Progress) {
        change {
            guard !$0.status.isFinal else { return false }
            $0.status = .running
            $0.progress = progress
            return true
        }
    }

    func succeed(_ results: [ProcessResponse.Item]) {
        change {
            $0.finish(.succeeded) { job in
                job.resultsWithBase64 = results.contains { $0.imageBase64 != nil }
                job.results = results.map { $0.with(base64: nil) }
            }
        }
    }

    func fail(_ error: ServiceError) {
        change { $0.finish(.failed) { $0.failure = error } }
    }

    func markCancelled() {
        change { $0.finish(.cancelled) { _ in } }
    }

    /// Asks the job to stop: a queued job is cancelled at once, a running one stops at its next
    /// face or tile (`cancel_requested` until then), a finished one stays as it is.
    func cancel() {
        let ticket = lock.withLock { self.ticket }
        let wasQueued = ticket?.place != nil
        change {
            guard !$0.status.isFinal else { return false }
            if wasQueued && $0.status == .queued { return $0.finish(.cancelled) { _ in } }
            $0.cancelRequested = true
            return true
        }
        ticket?.cancel(.cancelled)
    }

    // MARK: watching

    /// The job's snapshots from now on: the current one first, then one per change, ending after
    /// the final state.
    func watch() -> AsyncStream<JobSnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: JobSnapshot.self, bufferingPolicy: .bufferingNewest(64))
        let first = snapshot()
        continuation.yield(first)
        if first.status.isFinal {
            continuation.finish()
            return stream
        }
        let key: Int = lock.withLock {
            defer { nextWatcher += 1 }
            watchers[nextWatcher] = continuation
            return nextWatcher
        }
        continuation.onTermination = { [weak self] _ in
            self?.lock.withLock { _ = self?.watchers.removeValue(forKey: key) }
        }
        // A change between the first snapshot and registering is not lost: send the state again.
        let latest = snapshot()
        if latest != first { continuation.yield(latest) }
        if latest.status.isFinal { continuation.finish() }
        return stream
    }

    /// Ends every watcher's stream (the server is stopping).
    func endWatches() {
        let ending = lock.withLock { () -> [AsyncStream<JobSnapshot>.Continuation] in
            defer { watchers.removeAll() }
            return Array(watchers.values)
        }
        for continuation in ending { continuation.finish() }
    }

    /// Applies `body` under the lock (it returns whether anything changed), then tells the
    /// watchers. Snapshots sent to watchers carry no queue place (only queued jobs have one, and
    /// they do not change while queued).
    private func change(_ body: (RestorationJob) -> Bool) {
        lock.lock()
        guard body(self) else {
            lock.unlock()
            return
        }
        updatedAt = Date()
        let snapshot = makeSnapshot(place: nil)
        let watching = Array(watchers.values)
        if status.isFinal { watchers.removeAll() }
        lock.unlock()
        for continuation in watching {
            continuation.yield(snapshot)
            if snapshot.status.isFinal { continuation.finish() }
        }
    }

    /// Moves to final `state` unless already final. Under the lock.
    private func finish(_ state: Status, _ set: (RestorationJob) -> Void) -> Bool {
        guard !status.isFinal else { return false }
        status = state
        set(self)
        cancelRequested = false
        finishedAt = Date()
        ticket = nil
        return true
    }

    /// The results, with their base64 read back from the files when the job asked for it (an
    /// expired file has none). Under the lock.
    private var resultsForShowing: [ProcessResponse.Item]? {
        guard resultsWithBase64, let results else { return results }
        return results.map { $0.with(base64: readResult($0.filename)?.base64EncodedString()) }
    }

    /// Under the lock.
    private func makeSnapshot(place: Int?) -> JobSnapshot {
        JobSnapshot(id: id, status: status, createdAt: createdAt, updatedAt: updatedAt,
                    expiresAt: finishedAt.map { $0.addingTimeInterval(retention.timeInterval) },
                    queuePosition: status == .queued ? place : nil,
                    progress: status == .running ? progress : nil,
                    fraction: status == .succeeded ? 1 : status == .queued ? 0 : progress?.fraction ?? 0,
                    cancelRequested: cancelRequested, results: status == .succeeded ? resultsForShowing : nil,
                    failure: status == .failed ? failure : nil)
    }
}
