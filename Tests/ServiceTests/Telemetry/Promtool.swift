import Foundation
import TestSupport

/// Prometheus's own checker of the text format (`promtool check metrics`, from Debian's
/// `prometheus`, which `scripts/setup.sh --test-tools` installs): parses the exposition and lints it
/// (help text, counter names, units).
enum Promtool {
    static let path = "/usr/bin/promtool"

    static var installed: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Outside CI the tests that need it skip where it is missing; in CI (`CI=true`) they fail.
    static var enabled: Bool { Fixtures.isCI || installed }

    /// Pipes `exposition` through `promtool check metrics`; its exit status and what it printed.
    static func checkMetrics(_ exposition: String) throws -> (status: Int32, output: String) {
        guard installed else { throw PromtoolError.missing }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-promtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("metrics.txt")
        let output = directory.appendingPathComponent("output.txt")
        try Data(exposition.utf8).write(to: input)
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["check", "metrics"]
        process.standardInput = try FileHandle(forReadingFrom: input)
        let outputHandle = try FileHandle(forWritingTo: output)
        process.standardOutput = outputHandle
        process.standardError = outputHandle
        try process.run()
        process.waitUntilExit()
        try? outputHandle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}

enum PromtoolError: Error, CustomStringConvertible {
    case missing

    var description: String {
        "promtool is not installed: the metrics format test needs Debian's prometheus package (scripts/setup.sh --test-tools installs it)"
    }
}
