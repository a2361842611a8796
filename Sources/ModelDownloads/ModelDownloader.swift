package import Foundation
package import ModelCatalog

/// Installs the official model files into the models folder: downloads each from its release URL
/// (or a mirror with the same file names) with a progress bar, resumes a partial download, moves the
/// finished file into place atomically, and records its SHA-256 so every later load can check it.
package struct ModelDownloader: Sendable {
    package let files: ModelFiles
    /// A base URL serving the same file names (an internal mirror, a test server); nil: the
    /// official release URLs.
    package let mirror: URL?
    /// Seconds without a byte before a transfer counts as stalled.
    package var idleTimeout: TimeInterval = 30
    /// Where messages go (a line each); default: standard output.
    package var output: @Sendable (String) -> Void = { print($0) }
    /// Progress bars; nil: none.
    package var progress: (@Sendable (String) -> ProgressBar)? = { ProgressBar(label: $0) }

    package init(files: ModelFiles, mirror: URL? = nil) {
        self.files = files
        self.mirror = mirror
    }

    /// What `install` did.
    package enum Outcome: Equatable, Sendable {
        /// Downloaded (`resumedFrom` > 0: the first bytes came from an earlier partial download).
        case downloaded(bytes: Int64, digest: String, resumedFrom: Int64)
        /// Already present and matching its recorded checksum.
        case verified(digest: String)
        /// Already present without a record (placed by hand); its checksum is recorded now.
        case recordedExisting(digest: String)
    }

    package func url(for model: ModelFiles.Model) -> URL {
        if let mirror { return mirror.appendingPathComponent(model.fileName) }
        return URL(string: model.releaseURL)!
    }

    /// The file `model` is downloaded to: `<models>/<release name>`.
    package func destination(for model: ModelFiles.Model) -> URL {
        files.directory.appendingPathComponent(model.fileName)
    }

    /// The partial file a download writes to before it is complete.
    package func partialFile(for model: ModelFiles.Model) -> URL {
        files.directory.appendingPathComponent(model.fileName + ".part")
    }

    /// Makes `model` present and checked. With `force`, downloads even when a good copy exists.
    package func install(_ model: ModelFiles.Model, force: Bool = false) async throws -> Outcome {
        let checksums = ModelChecksums(files: files)
        if !force, let existing = files.locate(model) {
            do {
                switch try checksums.verify(existing) {
                case .matches(let digest):
                    output("\(model.fileName): present, SHA-256 matches the record")
                    return .verified(digest: digest)
                case .unrecorded:
                    let digest = try checksums.hashAndRecord(existing)
                    output("\(model.fileName): present (placed by hand); recorded its SHA-256 \(digest)")
                    return .recordedExisting(digest: digest)
                }
            } catch let error as ModelChecksumError {
                output("\(model.fileName): \(error); downloading it again")
            }
        }
        return try await download(model, checksums: checksums)
    }

    private func download(_ model: ModelFiles.Model, checksums: ModelChecksums) async throws -> Outcome {
        let name = model.fileName
        do {
            try FileManager.default.createDirectory(at: files.directory, withIntermediateDirectories: true)
        } catch {
            throw ModelDownloadError.writeFailed(file: name, reason: error.localizedDescription)
        }
        let source = url(for: model)
        let part = partialFile(for: model)
        var resumedFrom: Int64 = 0
        var total: Int64?
        // At most one restart: the partial file did not fit the server's file, or the server
        // ignored the range.
        for attempt in 0..<2 {
            let existing = Self.size(of: part)
            if attempt == 0 && existing > 0 { output("\(name): resuming at \(existing) bytes") }
            resumedFrom = existing
            let bar = progress?(name)
            switch try await RangeTransfer.run(url: source, into: part, fileName: name, progress: bar, idleTimeout: idleTimeout) {
            case .complete(let announced):
                total = announced
                if Self.size(of: part) < existing { resumedFrom = 0 }
            case .restart:
                output("\(name): the partial download does not match the server's file; starting over")
                try? FileManager.default.removeItem(at: part)
                continue
            }
            let received = Self.size(of: part)
            if let total, total != received {
                try? FileManager.default.removeItem(at: part)
                throw ModelDownloadError.sizeMismatch(file: name, expected: total, received: received)
            }
            let digest = try SHA256.hex(ofFile: part)
            let destination = destination(for: model)
            guard rename(part.path, destination.path) == 0 else {
                throw ModelDownloadError.writeFailed(file: name, reason: String(cString: strerror(errno)))
            }
            try checksums.record(destination, digest: digest)
            output("\(name): \(received) bytes, SHA-256 \(digest) recorded")
            return .downloaded(bytes: received, digest: digest, resumedFrom: resumedFrom)
        }
        throw ModelDownloadError.sizeMismatch(file: name, expected: total ?? -1, received: Self.size(of: part))
    }

    static func size(of url: URL) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
    }
}
