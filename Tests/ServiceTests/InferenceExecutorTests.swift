import Foundation
import Testing
@testable import Service

/// Waits (polling, up to `timeout`) until `condition` holds.
func waitUntil(timeout: Duration = .seconds(120), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Each test runs on the test server threads (`isolated`): in a full run the parity tests occupy the
/// cooperative pool for seconds at a time, which would stall these tests' polling.
@Suite("Inference executor: dedicated thread, one job at a time, bounded queue")
struct InferenceExecutorTests {
    @Test("jobs run one at a time, in submission order, on the named dedicated thread")
    func order() async throws { try await isolated { try await Self.orderBody() } }

    static func orderBody() async throws {
        let executor = InferenceExecutor(queueDepth: 8)
        defer { executor.shutdown() }
        let log = Log()
        let gate = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<5 {
            tasks.append(Task(executorPreference: TestServerExecutor.shared) {
                try await executor.run {
                    log.append("start \(index) \(ThreadName.current)")
                    if index == 0 { gate.wait() }
                    log.append("end \(index)")
                }
            })
            // Submit strictly one after another: job 0 holds the thread until all are queued.
            if index == 0 { try await waitUntil { executor.status.running } } else { try await waitUntil { executor.status.waiting == index } }
        }
        gate.signal()
        for task in tasks { try await task.value }
        let entries = log.entries
        #expect(entries.count == 10)
        for index in 0..<5 {
            #expect(entries[2 * index] == "start \(index) fr-inference")
            #expect(entries[2 * index + 1] == "end \(index)")
        }
    }

    @Test("when the queue is full, run fails at once with atCapacity and a Retry-After estimate")
    func capacity() async throws { try await isolated { try await Self.capacityBody() } }

    static func capacityBody() async throws {
        let executor = InferenceExecutor(queueDepth: 1)
        defer { executor.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let first = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { gate.wait(); return 1 } }
        try await waitUntil { executor.status.running }
        let second = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { 2 } }
        try await waitUntil { executor.status.waiting == 1 }
        await #expect { try await executor.run { 3 } } throws: { error in
            guard case ServiceError.atCapacity(let seconds) = error else { return false }
            return seconds >= 1
        }
        gate.signal()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(try await executor.run { 4 } == 4)
    }

    @Test("queue depth 0: one running job, nothing waits")
    func depthZero() async throws { try await isolated { try await Self.depthZeroBody() } }

    static func depthZeroBody() async throws {
        let executor = InferenceExecutor(queueDepth: 0)
        defer { executor.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let first = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { gate.wait() } }
        try await waitUntil { executor.status.running }
        await #expect(throws: ServiceError.self) { try await executor.run { () } }
        gate.signal()
        try await first.value
    }

    @Test("a waiting job whose request is cancelled leaves the queue without running")
    func cancellation() async throws { try await isolated { try await Self.cancellationBody() } }

    static func cancellationBody() async throws {
        let executor = InferenceExecutor(queueDepth: 2)
        defer { executor.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let ran = Log()
        let first = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { gate.wait() } }
        try await waitUntil { executor.status.running }
        let waiting = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { ran.append("ran") } }
        try await waitUntil { executor.status.waiting == 1 }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(executor.status.waiting == 0)
        gate.signal()
        try await first.value
        try await executor.run { () }
        #expect(ran.entries.isEmpty)
    }

    @Test("errors thrown by a job reach the caller; the thread goes on")
    func errors() async throws { try await isolated { try await Self.errorsBody() } }

    static func errorsBody() async throws {
        struct Boom: Error {}
        let executor = InferenceExecutor(queueDepth: 1)
        defer { executor.shutdown() }
        await #expect(throws: Boom.self) { try await executor.run { throw Boom() } }
        #expect(try await executor.run { "ok" } == "ok")
    }

    @Test("shutdown fails the waiting jobs and stops after the running one")
    func shutdown() async throws { try await isolated { try await Self.shutdownBody() } }

    static func shutdownBody() async throws {
        let executor = InferenceExecutor(queueDepth: 2)
        let gate = DispatchSemaphore(value: 0)
        let first = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { gate.wait(); return "done" } }
        try await waitUntil { executor.status.running }
        let waiting = Task(executorPreference: TestServerExecutor.shared) { try await executor.run { "never" } }
        try await waitUntil { executor.status.waiting == 1 }
        executor.shutdown()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        gate.signal()
        #expect(try await first.value == "done")
        await #expect(throws: CancellationError.self) { try await executor.run { "late" } }
    }
}

/// A thread-safe list of strings.
final class Log: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ entry: String) { lock.withLock { storage.append(entry) } }
    var entries: [String] { lock.withLock { storage } }
}
