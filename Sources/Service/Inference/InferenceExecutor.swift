import Foundation
import TensorCore

/// Runs restorations on one dedicated thread, one at a time, behind a bounded queue.
///
/// Why a thread of its own: a restoration blocks for seconds inside oneDNN and the tensor loops
/// (which use every core already). On Swift's cooperative pool (one thread per core) it would starve
/// the tasks that serve other requests, so `/api/health` would stall while a model runs. Here the
/// request task only waits on a continuation, and the event loops and the pool stay free.
///
/// Why bounded: each waiting request holds its decoded body in memory. Once `queueDepth` requests
/// wait behind the running one, `run` refuses with `ServiceError.atCapacity` (503 + Retry-After)
/// instead of letting memory and latency grow without limit. Refused clients keep a place in line
/// (`AdmissionWaitlist`) and are told when their slot is expected to free.
final class InferenceExecutor: @unchecked Sendable {
    struct Status: Sendable, Equatable {
        var running: Bool
        var waiting: Int
        var queueDepth: Int
    }

    private final class Job: @unchecked Sendable {
        enum State { case created, queued, running, finished }
        var state = State.created
        var cancelRequested = false
        var body: (() -> Void)?
        var abandon: (() -> Void)?
    }

    let queueDepth: Int
    let threadName: String
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var running = false
    private var runningSince = ContinuousClock.now
    private var stopped = false
    private var waitlist = AdmissionWaitlist()
    /// Moving average of job durations, for the Retry-After estimate.
    private var averageSeconds = 5.0

    /// - Parameters:
    ///   - queueDepth: requests that may wait while one runs.
    ///   - name: the thread's name, as `top -H` and debuggers show it (Linux keeps 15 characters).
    ///   - threads: OpenMP threads (oneDNN) for the jobs; nil keeps the library default (all cores).
    init(queueDepth: Int, threads: Int? = nil, name: String = "fr-inference") {
        self.queueDepth = queueDepth
        self.threadName = name
        let thread = Thread { [self] in
            // Named through pthreads from inside: Foundation's Thread.name does not reliably reach
            // the OS thread on Linux, and top -H, gdb and the tests read the OS name.
            ThreadName.setCurrent(name)
            ComputeThreads.applyToCurrentThread(threads)
            loop()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    var status: Status {
        condition.lock()
        defer { condition.unlock() }
        return Status(running: running, waiting: queue.count, queueDepth: queueDepth)
    }

    /// Seconds `client` should wait before retrying when there is no slot for it right now (it is
    /// put in line), else nil. For refusing a request before its body is read; `run` decides for real.
    func retryAfterIfFull(client: String?) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        let now = ContinuousClock.now
        if waitlist.wouldAdmit(client, freeSlots: freeSlots, now: now) { return nil }
        return refuse(client, now: now)
    }

    /// Seconds until the next slot is expected to free, for refusals that are not the queue's own.
    var secondsUntilNextSlot: Int {
        condition.lock()
        defer { condition.unlock() }
        return Self.wholeSeconds(secondsUntilSlot(1, now: .now))
    }

    /// Runs `work` on the inference thread and returns its result. Throws `ServiceError.atCapacity`
    /// at once when there is no slot for `client` (the queue is full, or the free slots belong to
    /// clients turned away earlier), and `CancellationError` when the calling task is cancelled
    /// before the job started (a started job runs to the end; its result is dropped).
    func run<T: Sendable>(client: String? = nil, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let job = Job()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                condition.lock()
                job.body = { continuation.resume(with: Result { try work() }) }
                job.abandon = { continuation.resume(throwing: CancellationError()) }
                if job.cancelRequested || stopped {
                    job.state = .finished
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                    return
                }
                guard waitlist.admit(client, freeSlots: freeSlots, now: .now) else {
                    let retryAfter = refuse(client, now: .now)
                    job.state = .finished
                    condition.unlock()
                    continuation.resume(throwing: ServiceError.atCapacity(retryAfterSeconds: retryAfter))
                    return
                }
                job.state = .queued
                queue.append(job)
                condition.signal()
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            job.cancelRequested = true
            guard job.state == .queued, let index = queue.firstIndex(where: { $0 === job }) else {
                condition.unlock()
                return
            }
            queue.remove(at: index)
            job.state = .finished
            let abandon = job.abandon
            condition.unlock()
            abandon?()
        }
    }

    /// Stops the thread after the running job; waiting jobs fail with `CancellationError`.
    func shutdown() {
        condition.lock()
        stopped = true
        let abandoned = queue
        queue.removeAll()
        for job in abandoned { job.state = .finished }
        condition.broadcast()
        condition.unlock()
        for job in abandoned { job.abandon?() }
    }

    /// Places left: one running job plus `queueDepth` waiting. Under the lock.
    private var freeSlots: Int { queueDepth + 1 - queue.count - (running ? 1 : 0) }

    /// Puts `client` in line and returns its advised wait in whole seconds. Under the lock.
    private func refuse(_ client: String?, now: ContinuousClock.Instant) -> Int {
        Self.wholeSeconds(waitlist.refuse(client, now: now) { secondsUntilSlot($0, now: now) })
    }

    /// When the `place`-th slot from now is expected to free: slots free as jobs end, the running
    /// one after what is left of an average job, each later one an average job after that.
    private func secondsUntilSlot(_ place: Int, now: ContinuousClock.Instant) -> Duration {
        let left = running ? max(0, averageSeconds - (now - runningSince).timeInterval) : 0
        return .seconds(left + Double(max(0, place - 1)) * averageSeconds)
    }

    /// Retry-After's whole seconds: rounded up, 1 s to an hour.
    private static func wholeSeconds(_ duration: Duration) -> Int {
        Int(min(3600, max(1, duration.timeInterval.rounded(.up))))
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            job.state = .running
            running = true
            runningSince = .now
            condition.unlock()

            let start = ContinuousClock.now
            job.body?()
            let seconds = (ContinuousClock.now - start).timeInterval

            condition.lock()
            job.state = .finished
            job.body = nil
            job.abandon = nil
            running = false
            averageSeconds = 0.7 * averageSeconds + 0.3 * seconds
            condition.unlock()
        }
    }
}
