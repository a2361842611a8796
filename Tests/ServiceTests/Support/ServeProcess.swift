import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real `facerestore serve` process on a free loopback port, with its own results folder, for
/// what only a process shows: signals, crashes and memory limits, timeouts on real connections, a
/// browser, a cluster (`worker` makes a `facerestore worker` the same way). Its output goes to a log file (`output`), so a chatty server never blocks on a pipe.
/// `stop()` (SIGTERM, then SIGKILL after a grace) and removes the folder; tests call it in `defer`.
final class ServeProcess: @unchecked Sendable {
    let process: Process
    let directory: URL
    let resultsDirectory: URL
    let logFile: URL
    private(set) var port = 0

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits until it listens and has warmed up (at most `startTimeout`).
    /// - Parameters:
    ///   - arguments: extra `serve` flags (they win over the defaults given here).
    ///   - models: the models folder; the small fixture models (real MobileNet detector) by default.
    ///   - launcher: a command to run the server under, e.g. `["prlimit", "--as=4000000000", "--"]`.
    convenience init(arguments: [String] = [], environment: [String: String] = [:], models: URL? = nil,
                     launcher: [String] = [], startTimeout: Duration = .seconds(120)) throws {
        let modelsFolder = try models ?? SmallModels.folder.get()
        try self.init(name: "serve", environment: environment, launcher: launcher, startTimeout: startTimeout) { results in
            ["serve", "--host", "127.0.0.1", "--port", "0", "--models", modelsFolder.path, "--results", results.path, "--threads", "2"]
                + arguments
        } isReady: { text in
            // Ready once it listens and has warmed its networks up (requests would queue behind that).
            guard text.contains("warmed up") || text.contains("warm-up skipped") else { return nil }
            return Self.listeningPort(in: text)
        }
    }

    /// A `facerestore worker` of a test cluster sharing `store`: the small fixture models, one
    /// thread; ready once it takes jobs. `port` is its `--metrics-port` when given, else 0.
    static func worker(store: String, arguments: [String] = [], startTimeout: Duration = .seconds(120)) throws -> ServeProcess {
        let modelsFolder = try SmallModels.folder.get()
        return try ServeProcess(name: "worker", environment: [:], launcher: [], startTimeout: startTimeout) { _ in
            ["worker", "--store", store, "--models", modelsFolder.path, "--threads", "1"] + arguments
        } isReady: { text in
            guard text.contains("taking jobs") else { return nil }
            // With --metrics-port, ready once that listens too; `port` is then its port.
            guard arguments.contains("--metrics-port") else { return 0 }
            guard let range = text.range(of: "metrics on http://"), let end = text[range.upperBound...].range(of: "/metrics") else { return nil }
            return text[range.upperBound..<end.lowerBound].split(separator: ":").last.flatMap { Int($0) }
        }
    }

    /// Starts `facerestore <command(resultsFolder)>` with its output in a log file and the
    /// `FACERESTORE_*` variables of the test's environment removed, and waits until `isReady`
    /// finds the port (0 for none) in what it printed.
    private init(name: String, environment: [String: String], launcher: [String], startTimeout: Duration,
                 command: (URL) -> [String], isReady: (String) -> Int?) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-\(name)-\(UUID().uuidString)")
        resultsDirectory = directory.appendingPathComponent("results")
        logFile = directory.appendingPathComponent("\(name).log")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: logFile.path, contents: nil)

        let arguments = [BuiltExecutable.facerestore.path] + command(resultsDirectory)
        process = Process()
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + arguments
        }
        var variables = ProcessInfo.processInfo.environment
        for key in variables.keys where key.hasPrefix("FACERESTORE_") { variables[key] = nil }
        variables["LOG_LEVEL"] = variables["LOG_LEVEL"] ?? "info"
        variables.merge(environment) { $1 }
        process.environment = variables
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()

        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            if let port = isReady(output) {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let text = output
        stop()
        throw ServeProcessError.didNotStart(output: String(text.suffix(4000)))
    }

    deinit {
        stop()
    }

    /// Everything the server printed so far (stdout and stderr).
    var output: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// Lines logged at error or critical level (swift-log's stream format: `<time> error <label> : ...`).
    var errorLines: [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains(" error ") || $0.contains(" critical ") }
    }

    var isRunning: Bool { process.isRunning }

    var pid: Int32 { process.processIdentifier }

    /// kill -9: the process vanishes mid-work, as on a crash or a lost machine.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func signal(_ number: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, number) }
    }

    /// The exit status once the process has ended, or nil if it still runs after `timeout`.
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationStatus
    }

    /// Whether the process ended by a signal (a crash, or SIGKILL) rather than by exiting.
    var endedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    /// SIGTERM, SIGKILL if it is still there after 15 s; then the folder goes.
    func stop() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGTERM)
            if waitForExit(timeout: .seconds(15)) == nil {
                Glibc.kill(process.processIdentifier, SIGKILL)
                _ = waitForExit(timeout: .seconds(5))
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The port in the server's "listening on http://host:port" line.
    private static func listeningPort(in output: String) -> Int? {
        guard let range = output.range(of: "listening on http://") else { return nil }
        let rest = output[range.upperBound...]
        guard let line = rest.split(separator: "\n", maxSplits: 1).first, rest.contains("\n"),
              let colon = line.lastIndex(of: ":") else { return nil }
        return Int(line[line.index(after: colon)...])
    }
}

enum ServeProcessError: Error, CustomStringConvertible {
    case didNotStart(output: String)
    case noResponse(isRunning: Bool, output: String)

    var description: String {
        switch self {
        case .didNotStart(let output): "facerestore serve did not start listening:\n\(output)"
        case .noResponse(let isRunning, let output):
            "no complete response; the server is \(isRunning ? "running" : "gone"):\n\(output)"
        }
    }
}
