package import Foundation

/// Locates the shared reference fixtures: `$FACERESTORE_FIXTURES`, else `../shared/fixtures`
/// relative to the package root.
package enum Fixtures {
    package static let root: URL = {
        if let path = ProcessInfo.processInfo.environment["FACERESTORE_FIXTURES"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        // Tests/TestSupport/Fixtures.swift -> package root
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }()

    /// True when running in CI, where a missing fixture is a failure rather than a skip.
    package static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return !value.isEmpty && value != "0" && value != "false"
    }

    /// The URL of a fixture file, e.g. `url("codeformer/input.npy")`.
    package static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    /// Whether a fixture exists. Tests use this in `.enabled(if:)` traits; under CI it is always
    /// true so that a missing file fails the test instead of skipping it.
    package static func available(_ relativePath: String) -> Bool {
        isCI || FileManager.default.fileExists(atPath: url(relativePath).path)
    }
}
