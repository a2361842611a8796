import Foundation
import Restoration
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
///
/// Work is handed over as a `Ticket`: the caller can wait for it (a synchronous request), or leave
/// it and look at it later (a job); either can cancel it, which drops it from the queue or, once
/// it runs, stops it at its next face or tile through its `RestorationMonitor`.
final class InferenceExecutor: @unchecked Sendable {
    struct Status: Sendable, Equatable {
        var running: Bool
        var waiting: Int
        var queueDepth: Int
    }

    /// One piece of work in the queue; its state and links are guarded by the executor's lock.
    fileprivate final class Job: @unchecked Sendable {
        enum State { case queued, running, finished }
        var state = State.queued
        let enqueuedAt = ContinuousClock.now
        let monitor: RestorationMonitor?
        /// Runs the work and returns how to deliver its outcome, which the loop calls once the
        /// executor's own state says the work is over (so a caller woken by it sees an idle queue).
        var body: (() -> (() -> Void))?
        var abandon: ((any Error) -> Void)?
        var onStart: ((Duration) -> Void)?

        init(monitor: RestorationMonitor?) {
            self.monitor = monitor
        }
    }

    /// Work handed to the executor: wait for its value, ask where it is, or cancel it.
    final class Ticket<Value: Sendable>: @unchecked Sendable {
        fileprivate let job: Job
        fileprivate let outcome: Promise<Value>
        private unowned let executor: InferenceExecutor

        fileprivate init(job: Job, outcome: Promise<Value>, executor: InferenceExecutor) {
            self.job = job
            self.outcome = outcome
            self.executor = executor
        }

        /// The work's result, or its error: a queued ticket cancelled for `.cancelled` throws
        /// `CancellationError`, for another reason `RestorationError.stopped(reason)`; running work
        /// that stops throws what the restoration threw.
        func value() async throws -> Value { try await outcome.value() }

        /// Calls `handler` with the outcome on the thread that ends the work (the inference thread,
        /// or the one that cancels it while queued), without waiting for a task thread.
        func whenDone(_ handler: @escaping @Sendable (Result<Value, any Error>) -> Void) { outcome.whenFulfilled(handler) }

        /// Its place in the queue (1: runs next), nil once it runs or has ended.
        var place: Int? { executor.place(of: job) }

        /// Drops queued work at once; asks running work to stop at its next checkpoint.
        func cancel(_ reason: RestorationMonitor.StopReason) { executor.cancel(job, reason) }
    }

    let queueDepth: Int
    let threadName: String
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var current: Job?
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
            Parallelism.limitThreadsForCurrentThread(to: threads)
            loop()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    var status: Status {
        condition.lock()
        defer { condition.unlock() }
        return Status(running: current != nil, waiting: queue.count, queueDepth: queueDepth)
    }

    /// Seconds `client` should wait before retrying when there is no slot for it right now (it is
    /// put in line), else nil. For refusing a request before its body is read; `enqueue` decides for real.
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

    /// Puts `work` in the queue and returns its ticket. Throws `ServiceError.atCapacity` at once
    /// when there is no slot for `client` (the queue is full, or the free slots belong to clients
    /// turned away earlier), and `CancellationError` after `shutdown`.
    /// - Parameters:
    ///   - monitor: lets `Ticket.cancel` and `cancelAll` stop the work once it runs.
    ///   - onStart: called on the inference thread as the work starts, with the time it waited.
    func enqueue<T: Sendable>(client: String? = nil, monitor: RestorationMonitor? = nil,
                              onStart: ((Duration) -> Void)? = nil,
                              _ work: @escaping @Sendable () throws -> T) throws -> Ticket<T> {
        let job = Job(monitor: monitor)
        let outcome = Promise<T>()
        job.body = {
            let result = Result { try work() }
            return { outcome.fulfill(result) }
        }
        job.abandon = { outcome.fulfill(.failure($0)) }
        job.onStart = onStart
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { throw CancellationError() }
        guard waitlist.admit(client, freeSlots: freeSlots, now: .now) else {
            throw ServiceError.atCapacity(retryAfterSeconds: refuse(client, now: .now))
        }
        queue.append(job)
        condition.signal()
        return Ticket(job: job, outcome: outcome, executor: self)
    }

    /// Runs `work` on the inference thread and returns its result (`enqueue`, then waits). When the
    /// calling task is cancelled, queued work leaves the queue (`CancellationError`); started work
    /// runs to its end.
    func run<T: Sendable>(client: String? = nil, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let ticket = try enqueue(client: client, work)
        return try await withTaskCancellationHandler {
            try await ticket.value()
        } onCancel: {
            ticket.cancel(.cancelled)
        }
    }

    /// Cancels everything: queued work fails with `RestorationError.stopped(reason)`, running work
    /// is asked to stop. New work is still taken (see `shutdown`).
    func cancelAll(_ reason: RestorationMonitor.StopReason) {
        condition.lock()
        let dropped = queue
        queue.removeAll()
        for job in dropped { job.state = .finished }
        current?.monitor?.stop(reason)
        condition.unlock()
        for job in dropped { job.abandon?(RestorationError.stopped(reason)) }
    }

    /// Waits until nothing runs or waits, or `timeout` passes; true when idle.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = self.status
            if !status.running && status.waiting == 0 { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
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
        for job in abandoned { job.abandon?(CancellationError()) }
    }

    fileprivate func place(of job: Job) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        return queue.firstIndex { $0 === job }.map { $0 + 1 }
    }

    fileprivate func cancel(_ job: Job, _ reason: RestorationMonitor.StopReason) {
        condition.lock()
        switch job.state {
        case .queued:
            if let index = queue.firstIndex(where: { $0 === job }) { queue.remove(at: index) }
            job.state = .finished
            condition.unlock()
            job.abandon?(reason == .cancelled ? CancellationError() : RestorationError.stopped(reason))
        case .running:
            job.monitor?.stop(reason)
            condition.unlock()
        case .finished:
            condition.unlock()
        }
    }

    /// Places left: one running job plus `queueDepth` waiting. Under the lock.
    private var freeSlots: Int { queueDepth + 1 - queue.count - (current != nil ? 1 : 0) }

    /// Puts `client` in line and returns its advised wait in whole seconds. Under the lock.
    private func refuse(_ client: String?, now: ContinuousClock.Instant) -> Int {
        Self.wholeSeconds(waitlist.refuse(client, now: now) { secondsUntilSlot($0, now: now) })
    }

    /// When the `place`-th slot from now is expected to free: slots free as jobs end, the running
    /// one after what is left of an average job, each later one an average job after that.
    private func secondsUntilSlot(_ place: Int, now: ContinuousClock.Instant) -> Duration {
        let left = current != nil ? max(0, averageSeconds - (now - runningSince).timeInterval) : 0
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
            current = job
            runningSince = .now
            condition.unlock()

            let start = ContinuousClock.now
            var ran = false
            var deliver: (() -> Void)?
            if let monitor = job.monitor, let reason = monitor.stopReason {
                // Stopped (or out of time) while it waited: it does not start.
                job.abandon?(reason == .cancelled ? CancellationError() : RestorationError.stopped(reason))
            } else {
                job.onStart?(start - job.enqueuedAt)
                deliver = job.body?()
                ran = true
            }
            let seconds = (ContinuousClock.now - start).timeInterval

            condition.lock()
            job.state = .finished
            job.body = nil
            job.abandon = nil
            job.onStart = nil
            current = nil
            if ran { averageSeconds = 0.7 * averageSeconds + 0.3 * seconds }
            condition.unlock()
            deliver?()
        }
    }
}
