import ArgumentParser
import Foundation
import Logging
import Restoration
import Service
import ModelCatalog

/// `facerestore worker`: runs a cluster's restorations (see `serve --store`), serving no HTTP.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run restorations for a cluster: take jobs from the PostgreSQL database that `serve --store` replicas share.",
        discussion: """
            Any number of workers, on any machines, may share one database; each runs one restoration at a time \
            with every core. A worker that dies loses its job after --lease and another worker runs it. Every \
            option can also be given as its FACERESTORE_* environment variable. SIGTERM or SIGINT: no new jobs; \
            the job in hand may finish within --shutdown-grace, else it goes back to the queue.
            """
    )

    @Option(help: help(.store)) var store: String?
    @OptionGroup var folder: ModelsFolderOption
    @Option(help: help(.threads)) var threads: String?
    @Option(help: help(.detector)) var detector: String?
    @Option(help: help(.precision)) var precision: String?
    @Option(help: help(.lease)) var lease: String?
    @Option(help: help(.shutdownGrace)) var shutdownGrace: String?
    @Option(help: help(.metricsPort)) var metricsPort: String?
    @Option(help: help(.host)) var host: String?
    @Option(help: ArgumentHelp("As given to the replicas: only for the capacity gauge of --metrics-port. " + ServiceSetting.queueDepth.help,
                               valueName: ServiceSetting.queueDepth.valueName)) var queueDepth: String?

    private static func help(_ setting: ServiceSetting) -> ArgumentHelp {
        ArgumentHelp(setting.help, valueName: setting.valueName)
    }

    func run() async throws {
        let flags: [ServiceSetting: String?] = [
            .store: store, .models: folder.models, .threads: threads, .detector: detector, .precision: precision,
            .lease: lease, .shutdownGrace: shutdownGrace, .metricsPort: metricsPort, .host: host, .queueDepth: queueDepth,
        ]
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.resolve(flags: flags.compactMapValues { $0 })
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        guard let location = configuration.store else {
            throw ValidationError("\(ServiceSetting.store.flag) (or \(ServiceSetting.store.environmentVariable)) is required: the cluster's PostgreSQL database")
        }
        var logger = Logger(label: "facerestore.worker")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        let files = configuration.modelFiles()
        let models = FaceRestorationModels.load(from: files, detector: configuration.detector, precision: configuration.precision)
        say("facerestore \(ServiceInfo.version) worker")
        say("  store         \(location)")
        say("  models        \(files.directory.standardizedFileURL.path)")
        for (file, state) in FaceRestoreService.modelStates(of: models).sorted(by: { $0.key < $1.key }) { say("    \(file): \(state)") }
        say("  CodeFormer's weights are under the NTU S-Lab License 1.0: non-commercial use only.")
        try await WorkerProcess.run(configuration: configuration, models: models, logger: logger) { warmUp in
            Self.say(String(format: "networks warmed up in %.1f s; taking jobs", Double(warmUp.components.seconds) + Double(warmUp.components.attoseconds) / 1e18))
        } onListening: { port in
            Self.say("metrics on http://\(configuration.host):\(port)/metrics")
        }
        say("stopped")
    }

    private func say(_ line: String) {
        Self.say(line)
    }

    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
