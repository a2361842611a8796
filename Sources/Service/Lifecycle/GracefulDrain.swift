import Foundation
import Logging
import Restoration
import ServiceLifecycle

/// What SIGTERM and SIGINT do, as a service that shuts down before the HTTP server: the service
/// stops taking work (new requests get 503 + Retry-After, `/api/ready` 503), queued and running
/// work may finish within the grace period, then what is left is stopped at its next face or tile
/// (those requests get 503, those jobs fail with it), the job event streams end, and only then
/// does the server close its connections.
struct GracefulDrain: Service {
    let readiness: ServiceReadiness
    let executor: InferenceExecutor
    let jobs: JobRegistry
    let backend: any RestorationBackend
    let grace: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the process is going down without a drain
        }
        readiness.startDraining()
        let start = ContinuousClock.now
        logger.info("shutting down: taking no new work; waiting up to \(DurationText.describe(grace)) for the work in hand")
        if !(await executor.waitUntilIdle(timeout: grace)) {
            logger.warning("shutdown grace of \(DurationText.describe(grace)) is over: stopping the work still queued or running")
            executor.cancelAll(.shutdown)
            _ = await executor.waitUntilIdle(timeout: .seconds(60))
        }
        // Jobs record their final states as their work ends; give the last ones a moment.
        let settled = ContinuousClock.now + .seconds(2)
        while jobs.counts().contains(where: { !$0.key.isFinal && $0.value > 0 }), ContinuousClock.now < settled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        backend.endWatches()
        logger.info("work drained in \(String(format: "%.1f", (ContinuousClock.now - start).timeInterval)) s")
    }
}
