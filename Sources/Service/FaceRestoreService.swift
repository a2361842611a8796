import Foundation
package import Hummingbird
import JobDatabase
package import Logging
import NIOCore
package import Restoration
import ServiceLifecycle
import UnixSignals
import TensorCore

/// The CodeFormer web API (`../shared/API.md`) as a Hummingbird application: the routes, CORS and
/// error JSON on all of them, the back end (this process's inference thread, jobs and results
/// folder; or, with `--store`, a cluster's PostgreSQL database, with a worker here unless
/// `--no-inference`), readiness and the drain on shutdown.
package final class FaceRestoreService: Sendable {
    package let configuration: ServiceConfiguration
    /// nil: this replica runs no restorations (`--no-inference`).
    let restorer: (any PhotoRestorer)?
    let executor: InferenceExecutor
    let uploads: UploadBudget
    let readiness = ServiceReadiness()
    /// The Prometheus metrics of this service (`GET /metrics`).
    let metrics = ServiceMetrics()
    let backend: any RestorationBackend
    let logger: Logger
    /// Without `--store`: the results folder and the jobs in memory.
    let store: ResultStore?
    let jobs = JobRegistry()
    /// With `--store`: the database and its announcements.
    let cluster: (database: JobDatabase, notifications: JobNotifications)?

    /// The service over models loaded once at start-up (`FaceRestorationModels.load`); missing
    /// models do not stop it, requests that need them get 503. nil models: a cluster replica that
    /// runs no restorations (`--store … --no-inference`).
    package convenience init(configuration: ServiceConfiguration, models: FaceRestorationModels?,
                            logger: Logger = Logger(label: "facerestore")) throws {
        try self.init(configuration: configuration, restorer: models.map { PipelineRestorer(models: $0) }, logger: logger)
    }

    init(configuration: ServiceConfiguration, restorer: (any PhotoRestorer)?, logger: Logger = Logger(label: "facerestore")) throws {
        self.configuration = configuration
        self.restorer = restorer
        self.logger = logger
        self.executor = InferenceExecutor(queueDepth: configuration.queueDepth, threads: configuration.threads)
        self.uploads = UploadBudget(capacity: configuration.maxBufferedUploadBytes)
        if let location = configuration.store {
            let database = JobDatabase(location: location, logger: logger.with(["component": "database"]))
            let notifications = JobNotifications(database: database)
            cluster = (database, notifications)
            store = nil
            backend = ClusterBackend(database: database, notifications: notifications, configuration: configuration,
                                     readiness: readiness, logger: logger)
        } else {
            let store = try ResultStore(directory: configuration.resultsDirectory, retention: configuration.retention)
            self.store = store
            cluster = nil
            let queue = RestorationQueue(executor: executor, restorer: restorer ?? UnavailableRestorer(), store: store, metrics: metrics)
            backend = LocalBackend(queue: queue, jobs: jobs, retention: configuration.retention, logger: logger)
        }
    }

    /// Where results are kept: the results folder (symlinks resolved), or the cluster's database.
    package var resultsPath: String { store?.directory.path ?? "the job database" }

    /// Model file name to state (loaded, missing, unusable), as `/api/health` reports it; empty for
    /// a replica that runs no restorations.
    package var modelStates: [String: String] { restorer?.inventory.states.mapValues(\.rawValue) ?? [:] }

    /// Model file name to state for `models`, as a worker reports them at start-up.
    package static func modelStates(of models: FaceRestorationModels) -> [String: String] {
        ModelInventory(models).states.mapValues(\.rawValue)
    }

    /// Builds the networks' kernels on the inference thread before a request needs them (the first
    /// request is then as fast as the rest); requests arriving meanwhile queue behind it as usual.
    /// A warm-up that fails for lack of memory still leaves the service ready (the first request
    /// builds the kernels instead) and is thrown for the log.
    package func warmUp() async throws {
        if let restorer {
            do {
                try await executor.run { try restorer.warmUp() }
            } catch let error as ComputeError {
                readiness.markWarmedUp()
                throw error
            }
        }
        readiness.markWarmedUp()
    }

    /// Stops the inference thread; waiting requests fail. Call after the application has stopped.
    package func shutdown() {
        executor.shutdown()
    }

    package func makeRouter() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestTelemetryMiddleware(metrics: metrics))
        router.add(middleware: CORSMiddleware())
        router.add(middleware: ErrorResponseMiddleware())

        let intake = RestorationIntake(configuration: configuration, backend: backend, uploads: uploads, readiness: readiness)
        let process = ProcessRoute(intake: intake, backend: backend, timeout: configuration.requestTimeout)
        let jobRoutes = JobsRoute(intake: intake, backend: backend, timeout: configuration.jobTimeout)
        let health = HealthRoute(backend: backend, limits: ServiceLimits(configuration))
        var databaseAnswers: (@Sendable () async -> Bool)? = nil
        if let database = cluster?.database { databaseAnswers = { await database.isReady() } }
        let ready = ReadyRoute(readiness: readiness, backend: backend, databaseAnswers: databaseAnswers)
        let results = StaticResultsRoute(backend: backend, retention: configuration.retention)
        router.post("/api/process") { request, context in try await process.handle(request, context: context) }
        router.post("/api/jobs") { request, context in try await jobRoutes.submit(request, context: context) }
        router.get("/api/jobs/{id}") { request, context in try await jobRoutes.show(request, context: context) }
        router.delete("/api/jobs/{id}") { request, context in try await jobRoutes.cancel(request, context: context) }
        router.get("/api/jobs/{id}/events") { request, context in try await jobRoutes.events(request, context: context) }
        router.get("/api/health") { request, context in await health.handle(request, context: context) }
        router.get("/api/ready") { request, context in await ready.handle(request, context: context) }
        router.get("/static/results/{filename}") { request, context in try await results.handle(request, context: context) }
        let metricsRoute = MetricsRoute(metrics: metrics, backend: backend)
        router.get("/metrics") { request, context in await metricsRoute.handle(request, context: context) }
        refuseOtherMethods(router, path: "/api/process", allowed: [.post])
        refuseOtherMethods(router, path: "/api/jobs", allowed: [.post])
        refuseOtherMethods(router, path: "/api/jobs/{id}", allowed: [.get, .delete])
        refuseOtherMethods(router, path: "/api/jobs/{id}/events", allowed: [.get])
        refuseOtherMethods(router, path: "/api/health", allowed: [.get])
        refuseOtherMethods(router, path: "/api/ready", allowed: [.get])
        refuseOtherMethods(router, path: "/static/results/{filename}", allowed: [.get])
        refuseOtherMethods(router, path: "/metrics", allowed: [.get])
        WebPageRoute().register(on: router)
        refuseOtherMethods(router, path: "/", allowed: [.get])
        refuseOtherMethods(router, path: "/web/{name}", allowed: [.get])
        OpenAPIRoute().register(on: router)
        refuseOtherMethods(router, path: "/openapi.json", allowed: [.get])
        return router
    }

    /// Answers the usual methods a route does not take with 405 and `Allow` (instead of 404).
    private func refuseOtherMethods(_ router: Router<ServiceRequestContext>, path: RouterPath, allowed: [HTTPRequest.Method]) {
        let names = allowed.map(\.rawValue) + (allowed.contains(.get) ? ["HEAD"] : [])
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .trace, HTTPRequest.Method("QUERY")!] where !allowed.contains(method) {
            router.on(path, method: method) { request, _ -> Response in
                throw ServiceError.methodNotAllowed(method: method.rawValue, path: String(request.uri.path.prefix(200)), allowed: names)
            }
        }
    }

    /// The application: bound to the configured host and port, with the background services of the
    /// back end (the results sweeper; or the database client, its announcements, its upkeep and,
    /// unless `--no-inference`, a worker).
    package func makeApplication(logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let maxBodyBytes = configuration.maxBodyBytes
        return Application(
            router: makeRouter(),
            server: .guardedHTTP1(limits: configuration.connectionLimits) { [ExpectContinueHandler(maxBodyBytes: maxBodyBytes)] },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "facerestore"),
            services: backgroundServices(logger: logger),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    private func backgroundServices(logger: Logger) -> [any Service] {
        guard let cluster else {
            return store.map { [ResultSweeper(store: $0, jobs: jobs, logger: logger)] } ?? []
        }
        var services: [any Service] = [cluster.database, cluster.notifications,
                                       ClusterUpkeep(database: cluster.database, lease: configuration.lease, logger: logger)]
        if let restorer, !configuration.noInference {
            services.append(ClusterWorker(database: cluster.database, notifications: cluster.notifications, restorer: restorer,
                                          executor: executor, metrics: metrics, lease: configuration.lease,
                                          shutdownGrace: configuration.shutdownGrace, logger: logger) { [readiness] in !readiness.isDraining })
        }
        return services
    }

    /// Runs the application until SIGTERM or SIGINT, then drains (`GracefulDrain`: no new work,
    /// `--shutdown-grace` for the work in hand) before the server stops; returns when all is done.
    package func run(logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        let drain = GracefulDrain(readiness: readiness, executor: executor, jobs: jobs, backend: backend, grace: configuration.shutdownGrace,
                                  logger: logger)
        // Shut down in reverse order: the drain first, while the server still answers.
        let group = ServiceGroup(configuration: .init(services: [makeApplication(logger: logger, onServerRunning: onServerRunning), drain],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
