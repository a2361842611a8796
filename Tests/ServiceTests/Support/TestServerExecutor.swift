import Foundation

/// Threads of their own for the servers and clients of these tests. `swift test` runs every
/// target's tests in one process, and the parity tests elsewhere block Swift's cooperative pool
/// (one thread per core) with seconds of synchronous math; Hummingbird's request tasks, which run
/// on that pool, would then stall, and with them every timeout here. Running each test's server
/// and client under `isolated` (a task executor preference, inherited by all structured child
/// tasks, Hummingbird's included) keeps them independent of whatever else the process runs. The
/// service itself needs no such thing: in production nothing else blocks the pool.
final class TestServerExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = TestServerExecutor(threads: 8)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [self] in run() }
            thread.name = "test-server-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs `operation` (and every structured task it starts) on the tests' own threads.
func isolated<Value: Sendable>(_ operation: @Sendable () async throws -> Value) async throws -> Value {
    try await withTaskExecutorPreference(TestServerExecutor.shared, operation: operation)
}
