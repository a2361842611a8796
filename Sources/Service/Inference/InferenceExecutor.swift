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
/// instead of letting memory and latency grow without limit.
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
    private var stopped = false
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

    /// Seconds to wait before retrying when the queue is full right now, else nil. A hint for
    /// refusing a request before its body is read; `run` decides for real.
    var retryAfterIfFull: Int? {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + (running ? 1 : 0) > queueDepth ? retryAfterSeconds() : nil
    }

    /// Runs `work` on the inference thread and returns its result. Throws `ServiceError.atCapacity`
    /// at once when the queue is full, and `CancellationError` when the calling task is cancelled
    /// before the job started (a started job runs to the end; its result is dropped).
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
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
                let admitted = queue.count + (running ? 1 : 0)
                guard admitted <= queueDepth else {
                    let retryAfter = retryAfterSeconds()
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

    /// Seconds until a slot is likely free: the jobs ahead times their average duration.
    private func retryAfterSeconds() -> Int {
        let ahead = Double(queue.count + (running ? 1 : 0))
        return Int(min(3600, max(1, (averageSeconds * ahead).rounded(.up))))
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
