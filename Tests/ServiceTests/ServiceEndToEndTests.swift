import Foundation
import Hummingbird
import HummingbirdTesting
import Imaging
import Restoration
import Testing
import TestSupport
@testable import Service

/// The whole path with the real pipeline and small real checkpoints (`SmallModels`, with the real
/// trained detector): HTTP in, detection, CodeFormer, ParseNet, paste-back, PNG out, served back.
/// The photo is 03.jpg (one face) scaled to 200x112 to keep uploads small. Requests are few,
/// because CI has two cores.
@Suite("Service end to end (real pipeline, small checkpoints)", .serialized, .enabled(if: SmallModels.available, "fixtures missing"))
struct ServiceEndToEndTests {
    static func service(_ directory: URL) throws -> FaceRestoreService {
        var configuration = ServiceConfiguration()
        configuration.resultsDirectory = directory.appendingPathComponent("results").path
        configuration.host = "127.0.0.1"
        configuration.port = 0
        return try FaceRestoreService(configuration: configuration, models: try SmallModels.models.get())
    }

    /// 03.jpg (400x225) scaled to 200x112, as a JPEG.
    static func photo() throws -> Data {
        let image = try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/03.jpg")))
        return try ImageEncoder.jpeg(image.resized(width: 200, height: 112, interpolation: .area))
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("every small model loads under its official name and /api/health reports it")
    func modelsLoad() async throws {
        let models = try SmallModels.models.get()
        #expect(models.problems.isEmpty, "\(models.problems)")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.service(directory)
        defer { service.shutdown() }
        let app = service.makeApplication(logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.router) { client in
            let states = try #require(try await client.execute(uri: "/api/health", method: .get).json["models"] as? [String: String])
            #expect(states == ["codeformer.pth": "loaded", "detection_mobilenet0.25_Final.pth": "loaded",
                               "parsing_parsenet.pth": "loaded", "RealESRGAN_x2plus.pth": "loaded"])
        } }
    }

    @Test("multipart photo, upscale 2, return_base64: a 2x PNG with faces restored, served at image_url")
    func multipartPhoto() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.service(directory)
        defer { service.shutdown() }
        let photo = try Self.photo()
        let input = try ImageDecoder.decode(photo)
        let app = service.makeApplication(logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.router) { client in
            var form = MultipartBody()
            form.addFile(fileName: "03.jpg", data: photo, type: "image/jpeg")
            form.addField("return_base64", "true")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok, "\(response.text)")
            let result = try #require(response.results.first)
            #expect(result["original_name"] as? String == "03.jpg")
            #expect((result["faces_found"] as? Int ?? 0) >= 1)
            let inline = try #require(result["image_base64"] as? String)
            let png = try #require(Data(base64Encoded: inline))
            let output = try ImageDecoder.decode(png)
            // The demo first enlarges photos to a short side of 512 (200x112 -> 914x512), then upscales.
            let enlarged = InputPhoto(input).bgr
            #expect(output.width == enlarged.width * 2 && output.height == enlarged.height * 2, "\(output.width)x\(output.height)")
            let path = try #require((result["image_url"] as? String).flatMap { URL(string: $0)?.path })
            let served = try await client.execute(uri: path, method: .get)
            #expect(served.status == .ok && Data(served.body.readableBytesView) == png)
        } }
    }

    @Test("the contract's curl examples through the real pipeline (background_enhance with Real-ESRGAN, JSON data URI)",
          .enabled(if: ContractExamples.curlAvailable, "curl is not installed"))
    func curlExamples() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try Self.service(directory)
        defer { service.shutdown() }
        let work = directory.appendingPathComponent("client")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let photo = try Self.photo()
        try photo.write(to: work.appendingPathComponent("my_photo.jpg"))
        // curl takes the JSON as one argument, and Linux caps one argument at 128 KiB.
        let pngBase64 = try ImageEncoder.png(ImageDecoder.decode(photo), compressionLevel: 9)
            .base64EncodedString()
        #expect(pngBase64.utf8.count < 120_000)
        let app = service.makeApplication(logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.live) { client in
            let port = try #require(client.port)
            for command in ContractExamples.curlCommands {
                let (status, output) = try await ContractExamples.run(ContractExamples.prepared(command, port: port, pngBase64: pngBase64), in: work)
                #expect(status == 0)
                let json = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
                #expect(json["status"] as? String == "success", "\(json)")
                let result = try #require((json["results"] as? [[String: Any]])?.first)
                #expect((result["image_url"] as? String)?.hasPrefix("http://localhost:\(port)/static/results/") == true)
            }
        } }
    }
}
