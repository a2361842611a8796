import Foundation

/// How many cores the computation uses: all of them unless a host process says otherwise
/// (`facerestore serve --threads`). The one place that sets both the tensor core's own loops
/// (`parallelFor`) and oneDNN's OpenMP threads.
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

    /// Applies `--threads` to everything that computes: `parallelFor` everywhere, and the OpenMP
    /// threads oneDNN starts from the calling thread. OpenMP's count is a per-thread setting
    /// (`omp_set_num_threads` affects the parallel regions the calling thread starts), so call this
    /// on the thread that runs the networks. OpenMP is reached through `dlsym` because it is a
    /// dependency of oneDNN rather than of this package; without it (another oneDNN build), only
    /// the tensor core's own loops are limited. Nil changes nothing.
    package static func limitThreadsForCurrentThread(to count: Int?) {
        guard let count else { return }
        limitWorkers(to: count)
        OpenMP.setThreadCount?(Int32(clamping: count))
    }
}
