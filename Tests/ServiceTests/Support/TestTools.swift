import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Python tools the OpenAPI tests run (`openapi-spec-validator`, `schemathesis`):
/// `scripts/setup.sh --test-tools` installs them, pinned, into the virtualenv `.build/test-tools`,
/// where they are looked up first; then on `PATH`.
enum TestTools {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let virtualenv = packageRoot.appendingPathComponent(".build/test-tools")

    /// The tool's executable, or nil when it is not installed.
    static func path(_ name: String) -> URL? {
        let folders = [virtualenv.appendingPathComponent("bin").path]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return folders.lazy.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Whether tests using the tool run: outside CI they skip where it is not installed; in CI
    /// (`CI=true`) they run, and a missing tool fails them.
    static func available(_ name: String) -> Bool {
        Fixtures.isCI || path(name) != nil
    }

    struct Run {
        let status: Int32
        /// Standard output and standard error, interleaved as written.
        let output: String
        let timedOut: Bool
    }

    /// Runs the tool and waits for it, for at most `timeout` (then it is killed and `timedOut` set).
    /// It runs in a fresh temporary folder, which takes whatever it leaves behind (schemathesis's
    /// and Hypothesis's caches, which would otherwise replay old failures), so pass absolute paths.
    /// Its output goes through a file, so a chatty tool never blocks on a pipe. Proxy settings are
    /// dropped: the tools talk to nothing but the loopback server.
    static func run(_ name: String, _ arguments: [String], timeout: Duration) throws -> Run {
        guard let executable = path(name) else { throw TestToolsError.missing(name) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("output.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.lowercased().hasSuffix("_proxy") { environment[key] = nil }
        environment["NO_COLOR"] = "1"
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return Run(status: process.terminationStatus, output: output, timedOut: timedOut)
    }
}

enum TestToolsError: Error, CustomStringConvertible {
    case missing(String)

    var description: String {
        switch self {
        case .missing(let name):
            "\(name) is not installed: `scripts/setup.sh --packages-only --test-tools` installs it into \(TestTools.virtualenv.path)"
        }
    }
}
