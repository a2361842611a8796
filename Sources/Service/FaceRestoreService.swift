import Foundation
import Hummingbird
import Logging
import NIOCore
import Restoration

/// The CodeFormer web API (`../shared/API.md`) as a Hummingbird application: the routes, CORS and
/// error JSON on all of them, the inference thread and the results folder with its sweeper.
public final class FaceRestoreService: Sendable {
    public let configuration: ServiceConfiguration
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore

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
    }

    /// Stops the inference thread; waiting requests fail. Call after the application has stopped.
    public func shutdown() {
        executor.shutdown()
    }

    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: CORSMiddleware())
        router.add(middleware: ErrorResponseMiddleware())

        let process = ProcessRoute(configuration: configuration, restorer: restorer, executor: executor, store: store)
        let health = HealthRoute(restorer: restorer, executor: executor, limits: ServiceLimits(configuration))
        let results = StaticResultsRoute(store: store)
        router.post("/api/process") { request, context in try await process.handle(request, context: context) }
        router.get("/api/process") { request, _ -> Response in
            throw ServiceError.methodNotAllowed(method: "GET", path: "/api/process", allowed: ["POST"])
        }
        router.get("/api/health") { request, context in health.handle(request, context: context) }
        router.get("/static/results/{filename}") { request, context in try results.handle(request, context: context) }
        WebPageRoute().register(on: router)
        return router
    }

    /// The application: bound to the configured host and port, with the sweeper as a service.
    public func makeApplication(logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let maxBodyBytes = configuration.maxBodyBytes
        return Application(
            router: makeRouter(),
            server: .http1(additionalChannelHandlers: [ExpectContinueHandler(maxBodyBytes: maxBodyBytes)]),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "facerestore"),
            services: [ResultSweeper(store: store, logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}
