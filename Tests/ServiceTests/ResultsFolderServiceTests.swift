import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Imaging
import NIOCore
import Testing
import TestSupport
@testable import Service

/// The results folder over HTTP: deleted or replaced while the server runs, the next request still
/// gets 200 and its URL serves; a full or read-only disk gets 507 naming the cause, leaves no
/// temporaries, and `/api/health` reports it until it is over. In process (stand-in restorer) and
/// against a real `facerestore serve` with the real pipeline.
@Suite("Results folder failures over HTTP")
struct ResultsFolderServiceTests {
    static let fullDiskMessage = "the server could not store the result: no space left on device; nothing was kept, retry later"
    static let readOnlyMessage = "the server could not store the result: read-only file system; nothing was kept, retry later"

    /// Posts one small PNG as JSON; returns the response.
    static func post(_ client: some TestClientProtocol) async throws -> TestResponse {
        try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                 body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
    }

    /// Posts, expects 200 and that the result's URL serves the PNG.
    static func postAndFetch(_ client: some TestClientProtocol, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let response = try await post(client)
        #expect(response.status == .ok, "\(response.text)", sourceLocation: sourceLocation)
        let url = try #require(response.results.first?["image_url"] as? String, sourceLocation: sourceLocation)
        let served = try await client.execute(uri: try #require(URL(string: url)?.path), method: .get)
        #expect(served.status == .ok, sourceLocation: sourceLocation)
        #expect(try ImageDecoder.decode(Data(served.body.readableBytesView)).width == 64, sourceLocation: sourceLocation)
    }

    static func results(_ client: some TestClientProtocol) async throws -> [String: Any] {
        let response = try await client.execute(uri: "/api/health", method: .get)
        #expect(response.text.hasPrefix(#"{"status":"online","device":"cpu","#))
        return try #require(response.json["results"] as? [String: Any])
    }

    @Test("/api/health reports the results folder: writable, files, bytes, free bytes")
    func health() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            var results = try await Self.results(client)
            #expect(results["state"] as? String == "writable")
            #expect(results["reason"] == nil)
            #expect(results["files"] as? Int == 0 && results["bytes"] as? Int == 0)
            #expect((results["free_bytes"] as? Int ?? 0) > 0)
            try await Self.postAndFetch(client)
            results = try await Self.results(client)
            #expect(results["files"] as? Int == 1)
            #expect(results["bytes"] as? Int == harness.resultFiles.reduce(0) { total, name in
                total + ((try? Data(contentsOf: harness.resultsDirectory.appendingPathComponent(name)))?.count ?? 0)
            })
        }
    }

    @Test("folder deleted while serving: the next request creates it again and its URL serves; recreated by hand: served too")
    func deletedAndRecreated() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            try FileManager.default.removeItem(at: harness.resultsDirectory)
            try await Self.postAndFetch(client)
            #expect(harness.resultFiles.count == 1)

            try FileManager.default.removeItem(at: harness.resultsDirectory)
            try FileManager.default.createDirectory(at: harness.resultsDirectory, withIntermediateDirectories: false)
            try await Self.postAndFetch(client)
            #expect(harness.resultFiles.count == 1)
        }
    }

    @Test("full disk: 507 naming the cause, no temporaries, health unwritable; freed: 200 and writable again",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func fullDisk() async throws {
        let harness = try ServiceHarness()
        guard let disk = TmpfsMount.mount(over: harness.resultsDirectory, size: "1m") else { return }
        defer {
            disk.unmount()
            try? FileManager.default.removeItem(at: harness.directory)
        }
        try await harness.test { client in
            disk.fill()
            let refused = try await Self.post(client)
            #expect(refused.status.code == 507)
            #expect(refused.message == Self.fullDiskMessage)
            #expect(refused.headers[.accessControlAllowOrigin] == "*")
            #expect(harness.resultFiles == ["filler"])
            var results = try await Self.results(client)
            #expect(results["state"] as? String == "unwritable")
            #expect(results["reason"] as? String == "no space left on device")

            try FileManager.default.removeItem(at: harness.resultsDirectory.appendingPathComponent("filler"))
            results = try await Self.results(client)
            #expect(results["state"] as? String == "writable" && results["reason"] == nil)
            try await Self.postAndFetch(client)
        }
    }

    @Test("read-only disk: 507 'read-only file system', health unwritable; remounted read-write: 200",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func readOnlyDisk() async throws {
        let harness = try ServiceHarness()
        guard let disk = TmpfsMount.mount(over: harness.resultsDirectory, size: "1m") else { return }
        defer {
            disk.unmount()
            try? FileManager.default.removeItem(at: harness.directory)
        }
        try await harness.test { client in
            try disk.remount(readOnly: true)
            let refused = try await Self.post(client)
            #expect(refused.status.code == 507)
            #expect(refused.message == Self.readOnlyMessage)
            let results = try await Self.results(client)
            #expect(results["state"] as? String == "unwritable" && results["reason"] as? String == "read-only file system")
            try disk.remount(readOnly: false)
            #expect(try await Self.results(client)["state"] as? String == "writable")
            try await Self.postAndFetch(client)
        }
    }
}

/// The same against a real `facerestore serve` process (real pipeline, small models): what a
/// deployment sees. Requests are few; each runs the whole pipeline for a few seconds.
@Suite("Results folder failures against facerestore serve", .serialized, .enabled(if: SmallModels.available, "fixtures missing"))
struct ResultsFolderServeTests {
    static func client(_ server: ServeProcess, _ body: @escaping @Sendable (TestClient) async throws -> Void) async throws {
        try await isolated {
            try await TestClient.withClient(host: "127.0.0.1", port: server.port, configuration: .init(timeout: .seconds(300))) { client in
                try await body(client)
            }
        }
    }

    /// 03.jpg (one face) scaled to 200x112, as a JPEG data URI in JSON.
    static func body() throws -> ByteBuffer {
        let image = try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/03.jpg")))
        let jpeg = try ImageEncoder.jpeg(image.resized(width: 200, height: 112, interpolation: .area))
        return jsonBody(["image_base64": "data:image/jpeg;base64,\(jpeg.base64EncodedString())", "upscale": 1])
    }

    static func post(_ client: TestClient, _ body: ByteBuffer) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        let response = try await client.post("/api/process", headers: [.contentType: "application/json"], body: body)
        let json = response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] } ?? [:]
        return (response.status, json)
    }

    /// Posts, expects 200 and that the result's URL serves a PNG.
    static func postAndFetch(_ client: TestClient, _ body: ByteBuffer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (status, json) = try await post(client, body)
        #expect(status == .ok, "\(json)", sourceLocation: sourceLocation)
        let link = (json["results"] as? [[String: Any]])?.first?["image_url"] as? String
        let url = try #require(link.flatMap { URL(string: $0) }, sourceLocation: sourceLocation)
        let served = try await client.get(url.path)
        #expect(served.status == .ok && served.headers[.contentType] == "image/png", sourceLocation: sourceLocation)
        #expect(try ImageDecoder.decode(Data(try #require(served.body).readableBytesView)).width >= 200, sourceLocation: sourceLocation)
    }

    static func results(_ client: TestClient) async throws -> [String: Any] {
        let response = try await client.get("/api/health")
        let json = try #require(response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] })
        return try #require(json["results"] as? [String: Any])
    }

    static func folderContents(_ server: ServeProcess) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: server.resultsDirectory.path)) ?? []).sorted()
    }

    @Test("folder removed, then recreated by hand, while the server runs: each next request is 200 and its URL serves")
    func removedAndRecreated() async throws {
        let server = try ServeProcess()
        defer { server.stop() }
        let body = try Self.body()
        try await Self.client(server) { client in
            try FileManager.default.removeItem(at: server.resultsDirectory)
            try await Self.postAndFetch(client, body)
            #expect(Self.folderContents(server).count == 1)

            try FileManager.default.removeItem(at: server.resultsDirectory)
            try FileManager.default.createDirectory(at: server.resultsDirectory, withIntermediateDirectories: false)
            try await Self.postAndFetch(client, body)
            #expect(Self.folderContents(server).count == 1)
        }
        #expect(server.output.contains("the results folder was missing; creating it again"))
        #expect(server.isRunning)
    }

    @Test("full disk (a small tmpfs, filled): 507 naming the cause, no temporaries, health unwritable; space freed: 200, writable",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func fullDisk() async throws {
        let server = try ServeProcess()
        defer { server.stop() }
        // Room for a few results (a 914x512 PNG is under 1 MiB) once the filler is gone.
        guard let disk = TmpfsMount.mount(over: server.resultsDirectory, size: "4m") else { return }
        defer { disk.unmount() }
        let body = try Self.body()
        try await Self.client(server) { client in
            disk.fill()
            let (status, json) = try await Self.post(client, body)
            #expect(status.code == 507)
            #expect(json["message"] as? String == ResultsFolderServiceTests.fullDiskMessage)
            #expect(Self.folderContents(server) == ["filler"])
            var results = try await Self.results(client)
            #expect(results["state"] as? String == "unwritable" && results["reason"] as? String == "no space left on device", "\(results)")

            try FileManager.default.removeItem(at: server.resultsDirectory.appendingPathComponent("filler"))
            results = try await Self.results(client)
            #expect(results["state"] as? String == "writable" && results["reason"] == nil, "\(results)")
            try await Self.postAndFetch(client, body)
            #expect(try await Self.results(client)["files"] as? Int == 1)
        }
        #expect(server.isRunning)
    }
}
