import Foundation
import JobDatabase
import Logging
import Restoration
import ServiceLifecycle

/// `facerestore worker`: a process that runs a cluster's restorations and serves no HTTP. It
/// migrates the schema when the database is first reachable, warms the networks up, then takes jobs
/// until SIGTERM or SIGINT (the job in hand may finish within `--shutdown-grace`, else it goes back
/// to the queue), and exits 0.
public enum WorkerProcess {
    /// - Parameter onReady: called once the networks are warmed up, just before the first claim.
    public static func run(configuration: ServiceConfiguration, models: FaceRestorationModels, logger: Logger,
                           onReady: @Sendable (Duration) -> Void = { _ in }) async throws {
        guard let location = configuration.store else {
            throw ConfigurationError.invalid(source: ServiceSetting.store.flag, value: "", expected: "the cluster's database, postgres://…")
        }
        let database = JobDatabase(location: location, logger: logger.with(["component": "database"]))
        let notifications = JobNotifications(database: database)
        let executor = InferenceExecutor(queueDepth: 1, threads: configuration.threads, name: "fr-worker")
        defer { executor.shutdown() }
        let restorer = PipelineRestorer(models: models)
        let start = ContinuousClock.now
        try await executor.run { restorer.warmUp() }
        onReady(ContinuousClock.now - start)
        let worker = ClusterWorker(database: database, notifications: notifications, restorer: restorer, executor: executor,
                                   metrics: ServiceMetrics(), lease: configuration.lease, shutdownGrace: configuration.shutdownGrace,
                                   logger: logger)
        // Shut down in reverse order: the worker first, while the database client still runs.
        let group = ServiceGroup(configuration: .init(
            services: [database, notifications, ClusterUpkeep(database: database, lease: configuration.lease, logger: logger), worker],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
