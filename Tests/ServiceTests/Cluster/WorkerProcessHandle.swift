import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real `facerestore worker` process of a test cluster: the small fixture models, one thread,
/// its output in a log file. `kill()` is kill -9; `stop()` SIGTERM, then SIGKILL, and removes the folder.
final class WorkerProcessHandle: @unchecked Sendable {
    let process: Process
    let directory: URL
    let logFile: URL

    init(store: String, arguments: [String] = [], startTimeout: Duration = .seconds(120)) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-worker-\(UUID().uuidString.prefix(8))")
        logFile = directory.appendingPathComponent("worker.log")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process = Process()
        process.executableURL = BuiltExecutable.facerestore
        process.arguments = ["worker", "--store", store, "--models", try SmallModels.folder.get().path, "--threads", "1"] + arguments
        var variables = ProcessInfo.processInfo.environment
        for key in variables.keys where key.hasPrefix("FACERESTORE_") { variables[key] = nil }
        variables["LOG_LEVEL"] = "info"
        process.environment = variables
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            if output.contains("taking jobs") { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let text = output
        stop()
        throw ServeProcessError.didNotStart(output: String(text.suffix(4000)))
    }

    deinit { stop() }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// kill -9: the worker vanishes mid-job, as on a crash or a lost machine.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func stop() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            kill()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
