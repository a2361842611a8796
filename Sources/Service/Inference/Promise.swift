import Foundation

/// A value that arrives once, awaited by any number of tasks (a ticket's outcome).
final class Promise<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, any Error>?
    private var waiters: [CheckedContinuation<Value, any Error>] = []
    private var handlers: [@Sendable (Result<Value, any Error>) -> Void] = []

    /// Sets the outcome; later calls are ignored.
    func fulfill(_ outcome: Result<Value, any Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = outcome
        let waiting = waiters
        let handling = handlers
        waiters = []
        handlers = []
        lock.unlock()
        for handler in handling { handler(outcome) }
        for waiter in waiting { waiter.resume(with: outcome) }
    }

    /// Calls `handler` with the outcome on the thread that sets it (at once if it is set): for
    /// bookkeeping that must not wait for a free task thread.
    func whenFulfilled(_ handler: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        lock.lock()
        if let result {
            lock.unlock()
            handler(result)
        } else {
            handlers.append(handler)
            lock.unlock()
        }
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if let result {
                lock.unlock()
                continuation.resume(with: result)
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }
}
