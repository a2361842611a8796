import Foundation
import Logging
import ServiceLifecycle

/// Removes expired results in the background, as a service of the application's service group (it
/// starts and stops with the server). Serving checks expiry itself too, so the interval only bounds
/// how long an expired file takes up disk space. Each pass works on the folder the path names now
/// (one deleted and created again included) and recounts the files `/api/health` reports; it also
/// forgets the jobs whose results expired.
struct ResultSweeper: Service {
    let store: ResultStore
    let jobs: JobRegistry
    let interval: Duration
    let logger: Logger

    init(store: ResultStore, jobs: JobRegistry, logger: Logger) {
        self.store = store
        self.jobs = jobs
        self.logger = logger
        // Often enough that files do not outlive their time by much, rarely enough to cost nothing.
        let half = store.retention / 2
        self.interval = min(.seconds(60), max(.milliseconds(100), half))
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let removed = store.sweep()
            jobs.sweep()
            if removed > 0 { logger.debug("removed \(removed) expired result(s)") }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
