import Foundation
import TestSupport

/// The contract's curl examples (`../shared/API.md`, "Examples that must work as written"), read
/// from the contract itself so the test runs exactly what clients were promised. Without the file
/// (outside the workspace) a copy of the two commands is used.
enum ContractExamples {
    static let contractURL = Fixtures.root.deletingLastPathComponent().appendingPathComponent("API.md")

    static let fallback = [
        #"curl -X POST -F "image=@my_photo.jpg" -F "fidelity=0.7" -F "background_enhance=true" http://localhost:8080/api/process"#,
        #"curl -X POST -H "Content-Type: application/json" -d '{"image_base64": "data:image/png;base64,iVBORw0KG...", "fidelity": 0.5, "return_base64": true}' http://localhost:8080/api/process"#,
    ]

    /// The `curl` commands of the contract's first `sh` block, continuation lines joined.
    static var curlCommands: [String] {
        guard let text = try? String(contentsOf: contractURL, encoding: .utf8),
              let start = text.range(of: "```sh\n"),
              let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else { return fallback }
        let block = text[start.upperBound..<end.lowerBound].replacingOccurrences(of: "\\\n", with: " ")
        let commands = block.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }.filter { $0.hasPrefix("curl ") }
        return commands.isEmpty ? fallback : commands
    }

    /// A command with the placeholders filled in: the server's real port, and for the base64
    /// example a real PNG in place of `iVBORw0KG...`. The file name `my_photo.jpg` is left as
    /// written; the caller puts that file in the working directory.
    static func prepared(_ command: String, port: Int, pngBase64: String) -> String {
        command.replacingOccurrences(of: "localhost:8080", with: "localhost:\(port)")
            .replacingOccurrences(of: "iVBORw0KG...", with: pngBase64)
    }

    /// Runs `command` with `/bin/sh` in `directory`; returns standard output (the response body).
    /// Output goes to a file and the exit is awaited through the termination handler: nothing
    /// here blocks a Swift concurrency thread, which the server in the same process needs.
    static func run(_ command: String, in directory: URL) async throws -> (status: Int32, output: Data) {
        let outputURL = directory.appendingPathComponent(".stdout-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = directory
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (status, try Data(contentsOf: outputURL))
    }

    static var curlAvailable: Bool {
        ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
