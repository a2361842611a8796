import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Imaging
import NIOCore
import Testing
@testable import Service

/// `GET /static/results/{filename}`: serves results as PNG while they are kept, 404 afterwards, and
/// nothing outside the results folder, whatever the name.
@Suite("GET /static/results")
struct StaticResultsTests {
    /// Posts one image and returns the result's file name and path of its URL.
    static func createResult(_ client: some TestClientProtocol) async throws -> (file: String, path: String) {
        let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
        let file = try #require(response.results.first?["filename"] as? String)
        let url = try #require(response.results.first?["image_url"] as? String)
        #expect(url == "http://localhost/static/results/\(file)")
        return (file, "/static/results/\(file)")
    }

    @Test("a result is served as image/png with the bytes that were written; HEAD works too")
    func serves() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let (file, path) = try await Self.createResult(client)
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "image/png")
            let bytes = Data(response.body.readableBytesView)
            #expect(bytes == (try Data(contentsOf: harness.resultsDirectory.appendingPathComponent(file))))
            #expect(try ImageDecoder.decode(bytes).width == 64)
            let head = try await client.execute(uri: path, method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
        }
    }

    @Test("after the retention time the URL answers 404 with the error JSON, and the sweeper removes the file")
    func expiry() async throws {
        let harness = try ServiceHarness { $0.retention = .seconds(1) }
        try await harness.test { client in
            let (file, path) = try await Self.createResult(client)
            // Removed by the sweeper (it runs every half retention), not by a request. The sweeper
            // is a task on the cooperative pool, which the parity tests can hold for a minute in a
            // full run: hence the generous wait.
            try await waitUntil(timeout: .seconds(180)) { !harness.resultFiles.contains(file) }
            let gone = try await client.execute(uri: path, method: .get)
            #expect(gone.status == .notFound)
            #expect(gone.json["status"] as? String == "error")
            #expect(gone.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test("expired files are refused at once even before the sweeper runs")
    func expiryWithoutSweeper() throws {
        let store = try ResultStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-store-\(UUID().uuidString)").path,
                                    retention: .seconds(60))
        defer { try? FileManager.default.removeItem(at: store.directory) }
        let name = ResultStore.newFileName()
        try store.writeAll([(name, Data([1, 2, 3]))])
        #expect(store.read(name) == Data([1, 2, 3]))
        #expect(store.read(name, now: Date().addingTimeInterval(120)) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.directory.appendingPathComponent(name).path))
    }

    @Test("traversal: .., encoded ..%2F and %2e%2e, absolute paths, hidden temporaries, NUL and symlinks all give 404")
    func traversal() async throws {
        let harness = try ServiceHarness()
        let outside = harness.directory.appendingPathComponent("secret.png")
        try TestImages.png().write(to: outside)
        let results = harness.resultsDirectory
        try FileManager.default.createSymbolicLink(at: results.appendingPathComponent("link.png"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(at: results.appendingPathComponent("passwd.png"), withDestinationURL: URL(fileURLWithPath: "/etc/passwd"))
        try FileManager.default.createDirectory(at: results.appendingPathComponent("sub.png"), withIntermediateDirectories: true)
        try TestImages.png().write(to: results.appendingPathComponent(".api_result_hidden.png.1234.tmp"))
        try TestImages.png().write(to: results.appendingPathComponent(".hidden.png"))
        try await harness.test { client in
            let attempts = [
                "/static/results/../secret.png",
                "/static/results/..%2Fsecret.png",
                "/static/results/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                "/static/results/%2e%2e%2fsecret.png",
                "/static/results/%2E%2E%2Fsecret.png",
                "/static/results/..%5Csecret.png",
                "/static/results/%252e%252e%252fsecret.png",
                "/static/results/%2Fetc%2Fpasswd",
                "/static/results/link.png",
                "/static/results/passwd.png",
                "/static/results/sub.png",
                "/static/results/.hidden.png",
                "/static/results/.api_result_hidden.png.1234.tmp",
                "/static/results/secret.png%00.png",
                "/static/results/",
                "/static/results/..",
                "/static/secret.png",
                "/static/results/nothing.png",
            ]
            for uri in attempts {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri) answered \(response.status)")
                #expect(!response.text.contains("PNG") && !response.text.contains("root:"), "\(uri) leaked content")
            }
        }
    }

    @Test("names: only plain .png file names are servable")
    func servableNames() {
        #expect(ResultStore.isServableName(ResultStore.newFileName()))
        #expect(ResultStore.isServableName("photo-1_a.png"))
        for bad in ["../a.png", "a/b.png", ".a.png", "a.PNG.txt", "a.txt", "..png", "a..png", "a\u{0}.png", "ü.png", String(repeating: "a", count: 300) + ".png", ".png"] {
            #expect(!ResultStore.isServableName(bad), "\(bad)")
        }
    }

    @Test("results are written atomically: the folder only ever holds complete PNGs, temporaries are cleaned")
    func atomicWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-atomic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ResultStore(directory: directory.path, retention: .seconds(60))
        let names = (0..<3).map { _ in ResultStore.newFileName() }
        try store.writeAll(names.map { ($0, Data(repeating: 7, count: 1000)) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory.path).sorted() == names.sorted())

        // A failed batch (second name collides with a directory) leaves nothing of itself behind.
        let blocked = ResultStore.newFileName()
        try FileManager.default.createDirectory(at: store.directory.appendingPathComponent(blocked), withIntermediateDirectories: false)
        let fresh = ResultStore.newFileName()
        #expect(throws: (any Error).self) { try store.writeAll([(fresh, Data([1])), (blocked, Data([2]))]) }
        let after = try FileManager.default.contentsOfDirectory(atPath: store.directory.path)
        #expect(!after.contains(fresh) && !after.contains { $0.hasSuffix(".tmp") })
    }
}
