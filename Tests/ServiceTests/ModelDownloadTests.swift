import Foundation
import Hummingbird
import HummingbirdTesting
import ModelCatalog
import ModelDownloads
import Restoration
import Testing

/// `facerestore models download` against a local Hummingbird server: fresh download, resume,
/// restart when the partial file does not fit, interrupted transfers, checksum recording and
/// verification, and the offline message (against a closed port on loopback).
@Suite("Model downloads")
struct ModelDownloadTests {
    static let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })

    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-download-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A downloader into `directory` from `port`, collecting its messages.
    static func downloader(_ directory: URL, port: Int, messages: Log) -> ModelDownloader {
        var downloader = ModelDownloader(files: ModelFiles(directory: directory.path, environment: [:]),
                                         mirror: URL(string: "http://localhost:\(port)/")!)
        downloader.progress = nil
        downloader.idleTimeout = 10
        downloader.output = { messages.append($0) }
        return downloader
    }

    /// Runs `body` with a live file server serving `payload` as codeformer.pth.
    static func withServer(_ server: FileServer, _ body: @Sendable @escaping (Int) async throws -> Void) async throws {
        let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.live) { client in try await body(try #require(client.port)) } }
    }

    @Test("a fresh download lands atomically under the official name with its SHA-256 recorded")
    func fresh() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        let messages = Log()
        try await Self.withServer(server) { port in
            let downloader = Self.downloader(directory, port: port, messages: messages)
            let outcome = try await downloader.install(.codeformer)
            let digest = SHA256.hex(of: Self.payload)
            #expect(outcome == .downloaded(bytes: Int64(Self.payload.count), digest: digest, resumedFrom: 0))
            #expect(try Data(contentsOf: directory.appendingPathComponent("codeformer.pth")) == Self.payload)
            #expect(!FileManager.default.fileExists(atPath: downloader.partialFile(for: .codeformer).path))
            let record = try String(contentsOf: directory.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
            #expect(record == "\(digest)  codeformer.pth\n")
            #expect(try ModelChecksums(directory: directory).verify(directory.appendingPathComponent("codeformer.pth")) == .matches(digest: digest))

            // A second run checks instead of downloading.
            #expect(try await downloader.install(.codeformer) == .verified(digest: digest))
        }
        #expect(server.rangeHeaders == [nil])
    }

    @Test("a partial download resumes with a Range request from where it stopped")
    func resume() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        try Self.payload.prefix(123_456).write(to: directory.appendingPathComponent("codeformer.pth.part"))
        try await Self.withServer(server) { port in
            let outcome = try await Self.downloader(directory, port: port, messages: Log()).install(.codeformer)
            #expect(outcome == .downloaded(bytes: Int64(Self.payload.count), digest: SHA256.hex(of: Self.payload), resumedFrom: 123_456))
            #expect(try Data(contentsOf: directory.appendingPathComponent("codeformer.pth")) == Self.payload)
        }
        #expect(server.rangeHeaders == ["bytes=123456-"])
    }

    @Test("a server that ignores Range makes the download start over cleanly")
    func restartWhenRangeIgnored() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        server.ignoresRanges = true
        try Data(repeating: 0xEE, count: 5000).write(to: directory.appendingPathComponent("codeformer.pth.part"))
        try await Self.withServer(server) { port in
            let outcome = try await Self.downloader(directory, port: port, messages: Log()).install(.codeformer)
            guard case .downloaded(let bytes, let digest, _) = outcome else {
                Issue.record("not downloaded: \(outcome)")
                return
            }
            #expect(bytes == Int64(Self.payload.count) && digest == SHA256.hex(of: Self.payload))
            #expect(try Data(contentsOf: directory.appendingPathComponent("codeformer.pth")) == Self.payload)
        }
    }

    @Test("a partial file longer than the server's file is discarded and the download restarts")
    func restartWhenPartialTooLong() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        try Data(repeating: 1, count: Self.payload.count + 10).write(to: directory.appendingPathComponent("codeformer.pth.part"))
        try await Self.withServer(server) { port in
            _ = try await Self.downloader(directory, port: port, messages: Log()).install(.codeformer)
            #expect(try Data(contentsOf: directory.appendingPathComponent("codeformer.pth")) == Self.payload)
        }
        #expect(server.rangeHeaders == ["bytes=\(Self.payload.count + 10)-", nil])
    }

    @Test("an interrupted transfer keeps its partial file and the next run resumes it")
    func interruptedThenResumed() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        server.cutNextAfter = 100_000
        try await Self.withServer(server) { port in
            let downloader = Self.downloader(directory, port: port, messages: Log())
            await #expect { try await downloader.install(.codeformer) } throws: { error in
                guard case ModelDownloadError.interrupted(let file, _, _) = error else { return false }
                return file == "codeformer.pth" && "\(error)".contains("run the command again to resume")
            }
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("codeformer.pth").path))
            let partial = try Data(contentsOf: downloader.partialFile(for: .codeformer))
            #expect(partial.count > 0 && partial == Self.payload.prefix(partial.count))

            let outcome = try await downloader.install(.codeformer)
            guard case .downloaded(_, let digest, let resumedFrom) = outcome else {
                Issue.record("not downloaded: \(outcome)")
                return
            }
            #expect(resumedFrom == Int64(partial.count) && digest == SHA256.hex(of: Self.payload))
            #expect(try Data(contentsOf: directory.appendingPathComponent("codeformer.pth")) == Self.payload)
        }
    }

    @Test("a file placed by hand gets its checksum recorded; a damaged one fails verification and is fetched again")
    func existingFiles() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = FileServer(files: ["codeformer.pth": Self.payload])
        let target = directory.appendingPathComponent("codeformer.pth")
        try Self.payload.write(to: target)
        let files = ModelFiles(directory: directory.path, environment: [:])
        #expect(ModelFileStatus.check(files).first { $0.model == .codeformer }?.state == .unrecorded)
        try await Self.withServer(server) { port in
            let downloader = Self.downloader(directory, port: port, messages: Log())
            #expect(try await downloader.install(.codeformer) == .recordedExisting(digest: SHA256.hex(of: Self.payload)))
            #expect(ModelFileStatus.check(files).first { $0.model == .codeformer }?.state == .verified(digest: SHA256.hex(of: Self.payload)))

            var damaged = Self.payload
            damaged[1000] ^= 0xFF
            try damaged.write(to: target)
            guard case .mismatch? = ModelFileStatus.check(files).first(where: { $0.model == .codeformer })?.state else {
                Issue.record("damage not detected")
                return
            }
            guard case .downloaded = try await downloader.install(.codeformer) else {
                Issue.record("not downloaded again")
                return
            }
            #expect(try Data(contentsOf: target) == Self.payload)
        }
        #expect(server.rangeHeaders == [nil])
    }

    @Test("an HTTP error names the status and the URL")
    func httpError() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withServer(FileServer(files: [:])) { port in
            await #expect { try await Self.downloader(directory, port: port, messages: Log()).install(.parsing) } throws: { error in
                guard case ModelDownloadError.httpStatus(let file, let url, 404) = error else { return false }
                return file == "parsing_parsenet.pth" && url.hasSuffix("/parsing_parsenet.pth")
            }
        }
    }

    @Test("offline: an unreachable server is a clear message that says how to get the file by hand")
    func offline() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        var downloader = ModelDownloader(files: ModelFiles(directory: directory.path, environment: [:]), mirror: URL(string: "http://127.0.0.1:1/")!)
        downloader.progress = nil
        downloader.output = { _ in }
        await #expect { try await downloader.install(.codeformer) } throws: { error in
            guard case ModelDownloadError.unreachable(let file, let url, _) = error else { return false }
            let message = "\(error)"
            return file == "codeformer.pth" && url == "http://127.0.0.1:1/codeformer.pth"
                && message.contains("cannot download codeformer.pth") && message.contains("network")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("codeformer.pth").path))
    }

    @Test("official sources: release URLs and licences, CodeFormer non-commercial")
    func officialSources() {
        let downloader = ModelDownloader(files: ModelFiles(directory: "/nonexistent", environment: [:]))
        #expect(downloader.url(for: .codeformer).absoluteString == "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth")
        #expect(ModelFiles.Model.codeformer.license.contains("NTU S-Lab License 1.0"))
        #expect(ModelFiles.Model.codeformer.license.contains("non-commercial"))
    }

    @Test("progress bar text")
    func progressBar() {
        let line = ProgressBar.render(label: "codeformer.pth", done: 50 << 20, total: 100 << 20, seconds: 5, width: 10)
        #expect(line == "codeformer.pth [#####-----]  50%  50.0/100.0 MiB  10.0 MiB/s")
        #expect(ProgressBar.render(label: "x", done: 1 << 20, total: nil, seconds: 1) == "x 1.0 MiB  1.0 MiB/s")
        let lines = Log()
        let bar = ProgressBar(label: "f", interactive: false, sink: { lines.append($0) })
        for done in stride(from: Int64(0), through: 100, by: 1) { bar.update(done: done, total: 100) }
        bar.finish(done: 100, total: 100)
        #expect(lines.entries.count == 11)
    }
}
