import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelCatalog
import NIOCore
import Restoration
import TensorCore
import Testing
@testable import Service

/// Every failure row of the contract's status table, in process: the status, the error JSON, a
/// message that says what was wrong without server paths, and a server that keeps serving.
@Suite("Errors: 400, 404, 405, 413, 415, 500, 503")
struct ErrorStatusTests {
    /// Sends `body` and checks the error shape; returns the message.
    static func expectError(_ client: some TestClientProtocol, status: HTTPResponse.Status, contentType: String?, body: ByteBuffer,
                            sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(uri: "/api/process", method: .post, headers: headers, body: body)
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        #expect(response.json["status"] as? String == "error", sourceLocation: sourceLocation)
        let message = response.message
        #expect(!message.isEmpty, sourceLocation: sourceLocation)
        #expect(!message.contains("/tmp") && !message.contains("Error(") && !message.contains(".swift"), "\(message)", sourceLocation: sourceLocation)
        return message
    }

    static func json(_ object: [String: Any]) -> ByteBuffer { jsonBody(object) }

    static var image: String { TestImages.png().base64EncodedString() }

    @Test("400: no image, in either content type")
    func noImage() async throws {
        try await ServiceHarness().test { client in
            var form = MultipartBody()
            form.addField("fidelity", "0.5")
            let multipart = try await Self.expectError(client, status: .badRequest, contentType: form.contentType, body: form.buffer)
            #expect(multipart.hasPrefix("no image"))
            let json = try await Self.expectError(client, status: .badRequest, contentType: "application/json", body: Self.json(["fidelity": 0.5]))
            #expect(json.hasPrefix("no image"))
        }
    }

    @Test("400: parameters of the wrong type or out of range name the parameter")
    func badParameters() async throws {
        try await ServiceHarness().test { client in
            for (key, value, expected) in [("fidelity", 1.5 as Any, "'fidelity'"), ("upscale", 3 as Any, "'upscale'"), ("fidelity", "abc" as Any, "'fidelity'"),
                                           ("background_enhance", "maybe" as Any, "'background_enhance'"), ("return_base64", [1] as Any, "'return_base64'")] {
                let message = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                         body: Self.json(["image_base64": Self.image, key: value]))
                #expect(message.contains(expected), "\(message)")
            }
            var form = MultipartBody()
            form.addFile(fileName: "a.png", data: TestImages.png())
            form.addField("upscale", "3")
            let message = try await Self.expectError(client, status: .badRequest, contentType: form.contentType, body: form.buffer)
            #expect(message == "invalid 'upscale': got '3', expected 1, 2 or 4")
        }
    }

    @Test("400: undecodable, truncated and unsupported images name the image")
    func badImages() async throws {
        try await ServiceHarness().test { client in
            var form = MultipartBody()
            form.addFile(fileName: "notes.txt", data: Data("just some text, not an image".utf8))
            let garbage = try await Self.expectError(client, status: .badRequest, contentType: form.contentType, body: form.buffer)
            #expect(garbage.contains("'notes.txt'") && garbage.contains("unsupported image format"))

            let truncatedJPEG = TestImages.jpeg(width: 64, height: 64)
            let cut = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                 body: Self.json(["image_base64": truncatedJPEG.prefix(truncatedJPEG.count / 2).base64EncodedString()]))
            #expect(cut.contains("'image.png'"))

            let png = TestImages.png(width: 64, height: 64)
            let cutPNG = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                    body: Self.json(["images_base64": [Self.image, png.prefix(png.count - 40).base64EncodedString()]]))
            #expect(cutPNG.contains("image 2 of 2 ('image_2.png')"))

            let gif = Data("GIF89a".utf8) + Data(repeating: 0, count: 20)
            let unsupported = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                         body: Self.json(["image_base64": gif.base64EncodedString()]))
            #expect(unsupported.contains("JPEG, PNG and WebP"))
        }
    }

    @Test("400: malformed JSON and malformed multipart")
    func malformedBodies() async throws {
        try await ServiceHarness().test { client in
            let json = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                  body: ByteBuffer(string: "{\"image_base64\": \"abc"))
            #expect(json.hasPrefix("malformed JSON"))
            let multipart = try await Self.expectError(client, status: .badRequest, contentType: "multipart/form-data; boundary=XYZ",
                                                       body: ByteBuffer(string: "--XYZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nabc"))
            #expect(multipart.hasPrefix("malformed multipart"))
            let noBoundary = try await Self.expectError(client, status: .badRequest, contentType: "multipart/form-data",
                                                        body: ByteBuffer(string: "x"))
            #expect(noBoundary.contains("boundary"))
            let badBase64 = try await Self.expectError(client, status: .badRequest, contentType: "application/json",
                                                       body: Self.json(["image_base64": "data:image/png;base64,@@@@"]))
            #expect(badBase64.contains("'image_base64'"))
        }
    }

    @Test("413: body, image bytes, pixel count (a PNG header claiming 100000x100000) and batch length")
    func tooLarge() async throws {
        let harness = try ServiceHarness {
            $0.maxBodyBytes = 64 * 1024
            $0.maxImageBytes = 8 * 1024
            $0.maxPixels = 10_000
            $0.maxBatch = 2
        }
        try await harness.test { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: 100 * 1024)
            let body = try await Self.expectError(client, status: .contentTooLarge, contentType: "application/json", body: big)
            #expect(body == "request body is larger than the limit of 64 KiB")

            var form = MultipartBody()
            form.addFile(fileName: "big.bin", data: Data(repeating: 1, count: 9 * 1024))
            let bytes = try await Self.expectError(client, status: .contentTooLarge, contentType: form.contentType, body: form.buffer)
            #expect(bytes.contains("'big.bin'") && bytes.contains("8 KiB"))

            let bomb = try await Self.expectError(client, status: .contentTooLarge, contentType: "application/json",
                                                  body: Self.json(["image_base64": TestImages.pixelBomb().base64EncodedString()]))
            #expect(bomb.contains("100000x100000") && bomb.contains("10000 pixels"))

            let wide = try await Self.expectError(client, status: .contentTooLarge, contentType: "application/json",
                                                  body: Self.json(["image_base64": TestImages.png(width: 200, height: 60).base64EncodedString()]))
            #expect(wide.contains("200x60"))

            let batch = try await Self.expectError(client, status: .contentTooLarge, contentType: "application/json",
                                                   body: Self.json(["images_base64": [Self.image, Self.image, Self.image]]))
            #expect(batch == "3 images in one request, over the batch limit of 2")
        }
        #expect(harness.restorer.receivedOptions.isEmpty)
        #expect(harness.resultFiles.isEmpty)
    }

    @Test("415: any other content type, or none")
    func unsupportedMediaType() async throws {
        try await ServiceHarness().test { client in
            for type in ["text/plain", "application/x-www-form-urlencoded", "image/png", nil] as [String?] {
                let message = try await Self.expectError(client, status: .unsupportedMediaType, contentType: type, body: ByteBuffer(string: "image=abc"))
                #expect(message.contains("multipart/form-data or application/json"))
            }
        }
    }

    @Test("503: a required model file that is not installed names the file and the install command")
    func modelMissing() async throws {
        try await Self.withModelsFolder { empty, client in
            let message = try await Self.expectError(client, status: .serviceUnavailable, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image]))
            #expect(message.contains("codeformer.pth") && message.contains("facerestore models download"))
            #expect(!message.contains(empty.path))

            let health = try await client.execute(uri: "/api/health", method: .get)
            #expect(health.status == .ok)
            let states = try #require(health.json["models"] as? [String: String])
            #expect(states["codeformer.pth"] == "missing" && states["RealESRGAN_x2plus.pth"] == "missing")
        }
    }

    @Test("503: a damaged model file is called damaged, with the command that reinstalls it")
    func modelDamaged() async throws {
        let damaged = Data("PK\u{3}\u{4} truncated download".utf8)
        try await Self.withModelsFolder(["codeformer.pth": damaged]) { folder, client in
            let message = try await Self.expectError(client, status: .serviceUnavailable, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image]))
            #expect(message.contains("codeformer.pth") && message.contains("damaged or truncated"), "\(message)")
            #expect(message.contains("facerestore models download --force codeformer.pth"))
            #expect(!message.contains("not installed") && !message.contains(folder.path))
            let states = try #require(try await client.execute(uri: "/api/health", method: .get).json["models"] as? [String: String])
            #expect(states["codeformer.pth"] == "unusable")
        }
    }

    /// A service over the real model loader and a models folder holding `files`, in process.
    static func withModelsFolder(_ files: [String: Data] = [:],
                                 _ body: @Sendable (URL, any TestClientProtocol) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
        let models = FaceRestorationModels.load(from: ModelFiles(directory: folder.path, environment: [:]))
        var configuration = ServiceConfiguration()
        configuration.resultsDirectory = folder.appendingPathComponent("results").path
        let service = try FaceRestoreService(configuration: configuration, models: models)
        defer { service.shutdown() }
        let app = service.makeApplication(logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.router) { client in try await body(folder, client) } }
    }

    @Test("503 for Real-ESRGAN only when an option that needs it survives the large-image rules")
    func realESRGANMissing() async throws {
        var states = ModelInventory.allLoaded.states
        states["RealESRGAN_x2plus.pth"] = .missing
        let restorer = StubRestorer(inventory: ModelInventory(states: states, detectorFile: "detection_Resnet50_Final.pth"))
        try await ServiceHarness(restorer: restorer) { $0.largeImageLimits = .init(reduceToTwoAbove: nil, reduceToOneAbove: 40) }.test { client in
            let plain = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                 body: Self.json(["image_base64": Self.image]))
            #expect(plain.status == .ok)
            let message = try await Self.expectError(client, status: .serviceUnavailable, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image, "face_upsample": true]))
            #expect(message.contains("RealESRGAN_x2plus.pth"))
            let large = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                 body: Self.json(["image_base64": TestImages.png(width: 50, height: 10).base64EncodedString(),
                                                                  "background_enhance": true]))
            #expect(large.status == .ok)
        }
    }

    @Test("503 when the pipeline itself reports a missing model")
    func pipelineModelMissing() async throws {
        let restorer = StubRestorer(failure: RestorationError.modelMissing(model: "parsing_parsenet.pth", directory: "/secret/models",
                                                                           releaseURL: "https://example.com", license: "x"))
        try await ServiceHarness(restorer: restorer).test { client in
            let message = try await Self.expectError(client, status: .serviceUnavailable, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image]))
            #expect(message.contains("parsing_parsenet.pth") && message.contains("facerestore models download") && !message.contains("/secret"))
        }
    }

    @Test("500: an unexpected pipeline error names no internals, and the next request is served")
    func internalError() async throws {
        let restorer = StubRestorer(failure: RestorationError.notImplemented("whole-photo restoration"))
        try await ServiceHarness(restorer: restorer).test { client in
            let message = try await Self.expectError(client, status: .internalServerError, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image]))
            #expect(message.hasPrefix("internal error") && !message.contains("whole-photo") && !message.contains("notImplemented"))
            restorer.failure = nil
            let next = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                body: Self.json(["image_base64": Self.image]))
            #expect(next.status == .ok)
        }
    }

    /// A tensor no memory can hold (256 TiB): what a huge image does to the tensor core, for real.
    static func allocateBeyondMemory() throws {
        _ = try Tensor(zeros: [1, 16, 1 << 21, 1 << 21])
    }

    @Test("503 with Retry-After when the server runs out of memory for a restoration, and the next request is served")
    func outOfMemory() async throws {
        let restorer = StubRestorer()
        restorer.compute = Self.allocateBeyondMemory
        try await ServiceHarness(restorer: restorer).test { client in
            let body = Self.json(["image_base64": Self.image])
            let message = try await Self.expectError(client, status: .serviceUnavailable, contentType: "application/json", body: body)
            #expect(message.hasPrefix("the server ran out of memory restoring this image") && message.contains("retry in 10 s"), "\(message)")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] == "10")
            #expect(response.json["request_id"] is String)
            restorer.compute = nil
            let next = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(next.status == .ok)
        }
    }

    @Test("500 when oneDNN cannot build a layer for the input, naming no internals, and the next request is served")
    func computeFailure() async throws {
        let restorer = StubRestorer()
        // A 5x5 kernel without padding has no output on a 2x2 map: oneDNN refuses the primitive.
        restorer.compute = {
            let conv = try Conv2d(weight: Tensor(shape: [16, 16, 5, 5], values: [Float](repeating: 0.01, count: 16 * 16 * 25)), bias: nil, padding: 0)
            _ = try conv(Tensor(zeros: [1, 16, 2, 2]))
        }
        try await ServiceHarness(restorer: restorer).test { client in
            let message = try await Self.expectError(client, status: .internalServerError, contentType: "application/json",
                                                     body: Self.json(["image_base64": Self.image]))
            #expect(message.hasPrefix("internal error") && !message.contains("oneDNN"), "\(message)")
            restorer.compute = nil
            let next = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                body: Self.json(["image_base64": Self.image]))
            #expect(next.status == .ok)
        }
    }

    @Test("404 and 405 answer with the error JSON too")
    func unknownRoutes() async throws {
        try await ServiceHarness().test { client in
            let missing = try await client.execute(uri: "/api/nothing", method: .get)
            #expect(missing.status == .notFound && missing.json["status"] as? String == "error")
            let wrongMethod = try await client.execute(uri: "/api/process", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.headers[.allow] == "POST")
            #expect(wrongMethod.json["status"] as? String == "error")
        }
    }
}
