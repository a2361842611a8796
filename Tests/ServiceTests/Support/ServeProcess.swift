import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real `facerestore serve` process on a free loopback port, with its own results folder, for
/// what only a process shows: signals, crashes and memory limits, timeouts on real connections, a
/// browser. Its output goes to a log file (`output`), so a chatty server never blocks on a pipe.
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
    init(arguments: [String] = [], environment: [String: String] = [:], models: URL? = nil,
         launcher: [String] = [], startTimeout: Duration = .seconds(120)) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-serve-\(UUID().uuidString)")
        resultsDirectory = directory.appendingPathComponent("results")
        logFile = directory.appendingPathComponent("serve.log")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let modelsFolder = try models ?? SmallModels.folder.get()

        let serve = [BuiltExecutable.facerestore.path, "serve", "--host", "127.0.0.1", "--port", "0",
                     "--models", modelsFolder.path, "--results", resultsDirectory.path, "--threads", "2"] + arguments
        process = Process()
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: serve[0])
            process.arguments = Array(serve.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + serve
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

        // Ready once it listens and has warmed its networks up (requests would queue behind that).
        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            let text = output
            if let port = Self.listeningPort(in: text), text.contains("warmed up") || text.contains("warm-up skipped") {
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

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
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
            kill(process.processIdentifier, SIGTERM)
            if waitForExit(timeout: .seconds(15)) == nil {
                kill(process.processIdentifier, SIGKILL)
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
