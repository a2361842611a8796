import Foundation
import Hummingbird
import JobDatabase
import NIOCore
package import Logging
package import Restoration
import ServiceLifecycle
import UnixSignals
import TensorCore

/// `facerestore worker`: a process that runs a cluster's restorations and serves no HTTP. It
/// migrates the schema when the database is first reachable, warms the networks up, then takes jobs
/// until SIGTERM or SIGINT (the job in hand may finish within `--shutdown-grace`, else it goes back
/// to the queue), and exits 0.
package enum WorkerProcess {
    /// - Parameters:
    ///   - onReady: called once the networks are warmed up, just before the first claim.
    ///   - onListening: called with the port of `/metrics` once it listens (`--metrics-port`).
    package static func run(configuration: ServiceConfiguration, models: FaceRestorationModels, logger: Logger,
                           onReady: @Sendable (Duration) -> Void = { _ in },
                           onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        guard let location = configuration.store else {
            throw ConfigurationError.invalid(source: ServiceSetting.store.flag, value: "", expected: "the cluster's database, postgres://…")
        }
        let database = JobDatabase(location: location, logger: logger.with(["component": "database"]))
        let notifications = JobNotifications(database: database)
        let executor = InferenceExecutor(queueDepth: 1, threads: configuration.threads, name: "fr-worker")
        defer { executor.shutdown() }
        let restorer = PipelineRestorer(models: models)
        let start = ContinuousClock.now
        do {
            try await executor.run { try restorer.warmUp() }
        } catch let error as ComputeError {
            // The first job builds the kernels instead.
            logger.warning("warm-up failed; the first job builds the kernels", metadata: ["error": "\(error)"])
        }
        onReady(ContinuousClock.now - start)
        let metrics = ServiceMetrics()
        let worker = ClusterWorker(database: database, notifications: notifications, restorer: restorer, executor: executor,
                                   metrics: metrics, lease: configuration.lease, shutdownGrace: configuration.shutdownGrace,
                                   logger: logger)
        var services: [any Service] = [database, notifications, ClusterUpkeep(database: database, lease: configuration.lease, logger: logger)]
        if let port = configuration.metricsPort {
            let backend = ClusterBackend(database: database, notifications: notifications, configuration: configuration,
                                         readiness: ServiceReadiness(), logger: logger)
            services.append(Application(router: monitoringRouter(metrics: metrics, backend: backend, restorer: restorer, database: database),
                                        configuration: .init(address: .hostname(configuration.host, port: port), serverName: "facerestore-worker"),
                                        onServerRunning: { onListening($0.localAddress?.port ?? port) }, logger: logger))
        }
        services.append(worker)
        // Shut down in reverse order: the worker first, while the database client (and /metrics) still run.
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// A worker's own HTTP: `/metrics` (its stage timings and faces; the cluster's queue, jobs and
    /// results; its models) and `/api/ready` (200 once the database answers with the schema up to date).
    private static func monitoringRouter(metrics: ServiceMetrics, backend: ClusterBackend, restorer: PipelineRestorer,
                                         database: JobDatabase) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var state = await backend.scrapeState()
            state.models = restorer.inventory
            return Response(status: .ok, headers: [.contentType: PrometheusText.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(state))))
        }
        router.get("/api/ready") { _, _ -> Response in
            let ready = await database.isReady()
            return JSONResponse.make(JSONDocument.object([("status", .string(ready ? "ready" : "not_ready"))]),
                                     status: ready ? .ok : .serviceUnavailable)
        }
        return router
    }
}
