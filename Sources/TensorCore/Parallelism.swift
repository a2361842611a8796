import Foundation

/// How many cores the tensor core's own loops (`parallelFor`) spread over: all of them unless a
/// host process says otherwise (`facerestore serve --threads`). oneDNN's OpenMP threads are set
/// separately, per calling thread, by whoever runs the networks.
package enum Parallelism {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var limit: Int?

    /// The worker count `parallelFor` uses: the limit if one is set, else the active core count.
    package static var workers: Int {
        lock.lock()
        defer { lock.unlock() }
        return limit ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// Sets (a positive count) or clears (nil) the limit for every later `parallelFor`.
    package static func limitWorkers(to count: Int?) {
        lock.lock()
        defer { lock.unlock() }
        limit = count.map { max(1, $0) }
    }
}
