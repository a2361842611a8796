import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Restoration
import Service
import ModelCatalog

/// `facerestore serve`: the CodeFormer web API over HTTP.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the CodeFormer web API: POST /api/process, /api/jobs, GET /api/health, /api/ready, /static/results/<file>.",
        discussion: """
            Every option can also be given as its FACERESTORE_* environment variable (shown with each); \
            a flag wins over the variable. Models are loaded once at start-up from the models folder by \
            their official file names; a missing one does not stop the server: /api/health lists it and \
            requests that need it get 503 with the command that installs it (facerestore models download). \
            Set LOG_LEVEL (debug, info, warning, error) for more or less logging.
            """
    )

    @Option(help: help(.host)) var host: String?
    @Option(help: help(.port)) var port: String?
    @OptionGroup var folder: ModelsFolderOption
    @Option(help: help(.results)) var results: String?
    @Option(name: .customLong("public-url"), help: help(.publicURL)) var publicURL: String?
    @Option(help: help(.retention)) var retention: String?
    @Option(help: help(.maxBodySize)) var maxBodySize: String?
    @Option(help: help(.maxImageSize)) var maxImageSize: String?
    @Option(help: help(.maxPixels)) var maxPixels: String?
    @Option(help: help(.maxBatch)) var maxBatch: String?
    @Option(help: help(.queueDepth)) var queueDepth: String?
    @Option(help: help(.maxBufferedUploads)) var maxBufferedUploads: String?
    @Option(help: help(.idleTimeout)) var idleTimeout: String?
    @Option(help: help(.headerTimeout)) var headerTimeout: String?
    @Option(help: help(.bodyTimeout)) var bodyTimeout: String?
    @Option(help: help(.minBodyRate)) var minBodyRate: String?
    @Option(help: help(.maxFaces)) var maxFaces: String?
    @Option(help: help(.requestTimeout)) var requestTimeout: String?
    @Option(help: help(.jobTimeout)) var jobTimeout: String?
    @Option(help: help(.shutdownGrace)) var shutdownGrace: String?
    @Option(help: help(.threads)) var threads: String?
    @Option(help: help(.detector)) var detector: String?
    @Option(help: help(.precision)) var precision: String?
    @Option(help: help(.reduceUpscaleAbove)) var reduceUpscaleAbove: String?
    @Option(help: help(.noUpscaleAbove)) var noUpscaleAbove: String?
    @Option(help: help(.store)) var store: String?
    @Flag(name: .customLong("no-inference"), help: ArgumentHelp(ServiceSetting.noInference.help)) var noInference = false
    @Option(help: help(.lease)) var lease: String?
    @Option(help: help(.maxAttempts)) var maxAttempts: String?

    private static func help(_ setting: ServiceSetting) -> ArgumentHelp {
        ArgumentHelp(setting.help, valueName: setting.valueName)
    }

    /// The flags given, by setting (absent ones fall through to the environment).
    var flags: [ServiceSetting: String] {
        let values: [ServiceSetting: String?] = [
            .host: host, .port: port, .models: folder.models, .results: results, .publicURL: publicURL,
            .retention: retention, .maxBodySize: maxBodySize, .maxImageSize: maxImageSize, .maxPixels: maxPixels,
            .maxBatch: maxBatch, .queueDepth: queueDepth, .maxBufferedUploads: maxBufferedUploads, .idleTimeout: idleTimeout,
            .headerTimeout: headerTimeout, .bodyTimeout: bodyTimeout, .minBodyRate: minBodyRate, .maxFaces: maxFaces,
            .requestTimeout: requestTimeout, .jobTimeout: jobTimeout, .shutdownGrace: shutdownGrace,
            .threads: threads, .detector: detector, .precision: precision,
            .reduceUpscaleAbove: reduceUpscaleAbove, .noUpscaleAbove: noUpscaleAbove,
            .store: store, .noInference: noInference ? "true" : nil, .lease: lease, .maxAttempts: maxAttempts,
        ]
        return values.compactMapValues { $0 }
    }

    func run() async throws {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.resolve(flags: flags)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "facerestore")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        let files = configuration.modelFiles()
        let start = ContinuousClock.now
        // A cluster replica without inference loads no models: the workers have them.
        let models = configuration.noInference
            ? nil : FaceRestorationModels.load(from: files, detector: configuration.detector, precision: configuration.precision)
        let loadTime = ContinuousClock.now - start
        func seconds(_ duration: Duration) -> String {
            String(format: "%.1f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        }
        let service: FaceRestoreService
        do {
            service = try FaceRestoreService(configuration: configuration, models: models, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        defer { service.shutdown() }

        say("facerestore \(ServiceInfo.version): CodeFormer web API")
        for line in configuration.summary(models: files, resultsPath: service.resultsPath) { say("  " + line) }
        if let models {
            say("  model files (loaded in \(seconds(loadTime)) s):")
            for (file, state) in service.modelStates.sorted(by: { $0.key < $1.key }) {
                say("    \(file): \(state)")
            }
            for (model, problem) in models.problems.sorted(by: { $0.key.rawValue < $1.key.rawValue })
                where service.modelStates[model.fileName] != nil && service.modelStates[model.fileName] != "missing" {
                say("    \(model.fileName): \(problem)")
            }
            if service.modelStates.values.contains(where: { $0 != "loaded" }) {
                say("    requests that need a model that is not loaded get 503; install with: facerestore models download")
            }
        } else {
            say("  model files: none loaded here (--no-inference); the workers' models count")
        }
        say("  CodeFormer's weights are under the NTU S-Lab License 1.0: non-commercial use only.")

        let warmUp = Task {
            let start = ContinuousClock.now
            do {
                try await service.warmUp()
                say("networks warmed up in \(seconds(ContinuousClock.now - start)) s")
            } catch {
                say("warm-up skipped: \(error)")
            }
        }
        defer { warmUp.cancel() }
        try await service.run(logger: logger) { channel in
            let port = channel.localAddress?.port ?? configuration.port
            say("listening on http://\(configuration.host):\(port)")
        }
        say("stopped")
    }

    /// A line on standard output, unbuffered: the summary must appear even when output goes to a
    /// file or a pipe and the server then runs for days.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
