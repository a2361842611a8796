import Foundation
import Hummingbird
import Logging
import NIOCore
import Restoration
import ServiceLifecycle

/// The CodeFormer web API (`../shared/API.md`) as a Hummingbird application: the routes, CORS and
/// error JSON on all of them, the inference thread and the results folder with its sweeper, the
/// jobs, readiness and the drain on shutdown.
public final class FaceRestoreService: Sendable {
    public let configuration: ServiceConfiguration
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore
    let uploads: UploadBudget
    let jobs = JobRegistry()
    let readiness = ServiceReadiness()
    /// The Prometheus metrics of this service (`GET /metrics`).
    let metrics = ServiceMetrics()

    /// The service over models loaded once at start-up (`FaceRestorationModels.load`); missing
    /// models do not stop it, requests that need them get 503.
    public convenience init(configuration: ServiceConfiguration, models: FaceRestorationModels) throws {
        try self.init(configuration: configuration, restorer: PipelineRestorer(models: models))
    }

    init(configuration: ServiceConfiguration, restorer: any PhotoRestorer) throws {
        self.configuration = configuration
        self.restorer = restorer
        self.store = try ResultStore(directory: configuration.resultsDirectory, retention: configuration.retention)
        self.executor = InferenceExecutor(queueDepth: configuration.queueDepth, threads: configuration.threads)
        self.uploads = UploadBudget(capacity: configuration.maxBufferedUploadBytes)
        let jobs = self.jobs
        metrics.jobCounts = { Dictionary(uniqueKeysWithValues: jobs.counts().map { ($0.key.rawValue, $0.value) }) }
    }

    /// Where results are written, symlinks resolved.
    public var resultsPath: String { store.directory.path }

    /// Model file name to state (loaded, missing, unusable), as `/api/health` reports it.
    public var modelStates: [String: String] { restorer.inventory.states.mapValues(\.rawValue) }

    /// Builds the networks' kernels on the inference thread before a request needs them (the first
    /// request is then as fast as the rest); requests arriving meanwhile queue behind it as usual.
    public func warmUp() async throws {
        let restorer = self.restorer
        try await executor.run { restorer.warmUp() }
        readiness.markWarmedUp()
    }

    /// Stops the inference thread; waiting requests fail. Call after the application has stopped.
    public func shutdown() {
        executor.shutdown()
    }

    public func makeRouter() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestTelemetryMiddleware(metrics: metrics))
        router.add(middleware: CORSMiddleware())
        router.add(middleware: ErrorResponseMiddleware())

        let intake = RestorationIntake(configuration: configuration, restorer: restorer, executor: executor, uploads: uploads,
                                       readiness: readiness)
        let queue = RestorationQueue(executor: executor, restorer: restorer, store: store, metrics: metrics)
        let process = ProcessRoute(intake: intake, queue: queue, timeout: configuration.requestTimeout)
        let jobRoutes = JobsRoute(intake: intake, queue: queue, jobs: jobs, store: store, retention: configuration.retention,
                                  timeout: configuration.jobTimeout) { [metrics] in metrics.jobFinished(state: $0.rawValue) }
        let health = HealthRoute(restorer: restorer, executor: executor, store: store,
                                limits: ServiceLimits(configuration))
        let ready = ReadyRoute(readiness: readiness, inventory: restorer.inventory)
        let results = StaticResultsRoute(store: store)
        router.post("/api/process") { request, context in try await process.handle(request, context: context) }
        router.post("/api/jobs") { request, context in try await jobRoutes.submit(request, context: context) }
        router.get("/api/jobs/{id}") { request, context in try jobRoutes.show(request, context: context) }
        router.delete("/api/jobs/{id}") { request, context in try jobRoutes.cancel(request, context: context) }
        router.get("/api/jobs/{id}/events") { request, context in try jobRoutes.events(request, context: context) }
        router.get("/api/health") { request, context in health.handle(request, context: context) }
        router.get("/api/ready") { request, context in ready.handle(request, context: context) }
        router.get("/static/results/{filename}") { request, context in try results.handle(request, context: context) }
        let metricsRoute = MetricsRoute(metrics: metrics, restorer: restorer, executor: executor, store: store)
        router.get("/metrics") { request, context in metricsRoute.handle(request, context: context) }
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

    /// The application: bound to the configured host and port, with the sweeper as a service.
    public func makeApplication(logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let maxBodyBytes = configuration.maxBodyBytes
        return Application(
            router: makeRouter(),
            server: .guardedHTTP1(limits: configuration.connectionLimits) { [ExpectContinueHandler(maxBodyBytes: maxBodyBytes)] },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "facerestore"),
            services: [ResultSweeper(store: store, jobs: jobs, logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// Runs the application until SIGTERM or SIGINT, then drains (`GracefulDrain`: no new work,
    /// `--shutdown-grace` for the work in hand) before the server stops; returns when all is done.
    public func run(logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        let drain = GracefulDrain(readiness: readiness, executor: executor, jobs: jobs, grace: configuration.shutdownGrace,
                                  logger: logger)
        // Shut down in reverse order: the drain first, while the server still answers.
        let group = ServiceGroup(configuration: .init(services: [makeApplication(logger: logger, onServerRunning: onServerRunning), drain],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
