package import Foundation

/// The SHA-256 of each model file as it was when `facerestore models download` fetched it, kept in
/// `SHA256SUMS` in the models folder (the `sha256sum` format, so `sha256sum -c SHA256SUMS` run in
/// that folder checks the same thing). A file with a recorded digest is checked on every load: a
/// truncated copy or a file swapped behind the service's back is refused, not run. A file without a
/// record (put there by hand) loads as before.
package struct ModelChecksums: Sendable {
    package static let fileName = "SHA256SUMS"

    package let directory: URL

    package init(directory: URL) {
        self.directory = directory
    }

    package init(files: ModelFiles) {
        self.init(directory: files.directory)
    }

    package var recordURL: URL { directory.appendingPathComponent(Self.fileName) }

    /// Recorded digests by path relative to the models folder (`codeformer.pth`,
    /// `CodeFormer/codeformer.pth`). Malformed lines are skipped, as `sha256sum -c` warns and skips.
    package func recorded() throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: recordURL.path) else { return [:] }
        let text: String
        do {
            text = try String(contentsOf: recordURL, encoding: .utf8)
        } catch {
            throw ModelChecksumError.unreadableRecord(file: Self.fileName, reason: error.localizedDescription)
        }
        var digests: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            // "<64 hex>  <name>" (text mode) or "<64 hex> *<name>" (binary mode).
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit) else { continue }
            var name = parts[1].drop { $0 == " " }
            if name.hasPrefix("*") { name = name.dropFirst() }
            digests[String(name)] = parts[0].lowercased()
        }
        return digests
    }

    /// The recorded digest of `url`, if any.
    package func recordedDigest(of url: URL) throws -> String? {
        guard let key = relativePath(of: url) else { return nil }
        return try recorded()[key]
    }

    /// Records `digest` for `url`, replacing an earlier record. The record file is rewritten atomically.
    package func record(_ url: URL, digest: String) throws {
        guard let key = relativePath(of: url) else {
            throw ModelChecksumError.outsideModelsFolder(file: url.lastPathComponent)
        }
        var digests = try recorded()
        digests[key] = digest.lowercased()
        let text = digests.keys.sorted().map { "\(digests[$0]!)  \($0)\n" }.joined()
        do {
            try Data(text.utf8).write(to: recordURL, options: .atomic)
        } catch {
            throw ModelChecksumError.unwritableRecord(file: Self.fileName, reason: error.localizedDescription)
        }
    }

    /// Hashes `url` and records the digest; returns it.
    @discardableResult
    package func hashAndRecord(_ url: URL, progress: ((Int64) -> Void)? = nil) throws -> String {
        let digest = try SHA256.hex(ofFile: url, progress: progress)
        try record(url, digest: digest)
        return digest
    }

    /// The outcome of checking one file.
    package enum Verification: Equatable, Sendable {
        case matches(digest: String)
        /// No digest is recorded for the file: nothing to check against.
        case unrecorded
    }

    /// Checks `url` against its recorded digest; a mismatch throws `ModelChecksumError.mismatch`.
    @discardableResult
    package func verify(_ url: URL, progress: ((Int64) -> Void)? = nil) throws -> Verification {
        guard let expected = try recordedDigest(of: url) else { return .unrecorded }
        let actual = try SHA256.hex(ofFile: url, progress: progress)
        guard actual == expected else {
            throw ModelChecksumError.mismatch(file: url.lastPathComponent, expected: expected, actual: actual)
        }
        return .matches(digest: actual)
    }

    /// `url`'s path relative to the models folder, or nil if it is not inside it.
    func relativePath(of url: URL) -> String? {
        let base = directory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        guard path.hasPrefix(prefix) else { return nil }
        return String(path.dropFirst(prefix.count))
    }
}

/// Why a model file failed its checksum check or the record could not be used.
package enum ModelChecksumError: Error, CustomStringConvertible, Equatable, Sendable {
    case mismatch(file: String, expected: String, actual: String)
    case unreadableRecord(file: String, reason: String)
    case unwritableRecord(file: String, reason: String)
    case outsideModelsFolder(file: String)

    package var description: String {
        switch self {
        case .mismatch(let file, let expected, let actual):
            "\(file) does not match the SHA-256 recorded when it was downloaded (expected \(expected.prefix(12))…, got \(actual.prefix(12))…): the file is damaged or was replaced. Run `facerestore models download` to fetch it again."
        case .unreadableRecord(let file, let reason):
            "cannot read the checksum record \(file): \(reason)"
        case .unwritableRecord(let file, let reason):
            "cannot write the checksum record \(file): \(reason)"
        case .outsideModelsFolder(let file):
            "\(file) is not inside the models folder, so no checksum can be recorded for it"
        }
    }
}
