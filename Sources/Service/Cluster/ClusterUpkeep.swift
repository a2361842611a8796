import Foundation
import JobDatabase
import Logging
import ServiceLifecycle

/// The database's upkeep, done by every replica and worker of a cluster (the work is idempotent,
/// so it does not matter how many do it): jobs whose worker's lease ran out go back to the queue,
/// overdue queued jobs fail, and expired jobs and results are deleted (`JobDatabase.maintain`).
struct ClusterUpkeep: Service {
    let database: JobDatabase
    let interval: Duration
    let logger: Logger

    /// Often enough that a dead worker's job is back in the queue soon after its lease ends.
    init(database: JobDatabase, lease: Duration, logger: Logger) {
        self.database = database
        self.interval = min(.seconds(5), max(.milliseconds(100), lease / 2))
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await database.migrateWhenAvailable() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let requeued = try await database.maintain()
                if requeued > 0 { logger.notice("gave \(requeued) job(s) of lost workers back to the queue") }
            } catch {
                logger.debug("upkeep skipped: \(error)")
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
