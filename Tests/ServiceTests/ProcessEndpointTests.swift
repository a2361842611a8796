import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Imaging
import NIOCore
import Restoration
import Testing
@testable import Service

/// `POST /api/process` success paths, in process, over a stand-in restorer: what the client sends
/// reaches the pipeline, and what the pipeline returns reaches the client and the results folder.
@Suite("POST /api/process")
struct ProcessEndpointTests {
    @Test("multipart: one image with defaults gives the contract's success body and a PNG in the results folder")
    func multipartDefaults() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            var form = MultipartBody()
            form.addFile(fileName: "photo.jpg", data: TestImages.jpeg(), type: "image/jpeg")
            let response = try await client.execute(uri: "/api/process", method: .post,
                                                    headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            // Keys in the contract's order, slashes unescaped.
            #expect(response.text.hasPrefix(#"{"status":"success","count":1,"results":[{"original_name":"photo.jpg","filename":"api_result_"#))
            #expect(response.text.contains(#""image_url":"http://localhost/static/results/api_result_"#))
            let json = response.json
            #expect(json["status"] as? String == "success")
            #expect(json["count"] as? Int == 1)
            let result = try #require(response.results.first)
            #expect(result["original_name"] as? String == "photo.jpg")
            let filename = try #require(result["filename"] as? String)
            #expect(filename.hasPrefix("api_result_") && filename.hasSuffix(".png"))
            #expect(UUID(uuidString: String(filename.dropFirst("api_result_".count).dropLast(4))) != nil)
            #expect(result["image_url"] as? String == "http://localhost/static/results/\(filename)")
            #expect(result["image_base64"] == nil)
            #expect(result["faces_found"] as? Int == 1)
            let applied = try #require(result["applied"] as? [String: Any])
            #expect(applied["fidelity"] as? Double == 0.5 && applied["upscale"] as? Int == 2)
            #expect(applied["background_enhance"] as? Bool == false && applied["face_upsample"] as? Bool == false)
            #expect(harness.resultFiles == [filename])
            let written = try ImageDecoder.decode(Data(contentsOf: harness.resultsDirectory.appendingPathComponent(filename)))
            #expect(written.width == 64 && written.height == 48)
        }
        // The contract's defaults, under the service's limits (`--max-pixels` for every image made).
        #expect(harness.restorer.receivedOptions == [RestorationOptions(limits: ServiceConfiguration().restorationLimits, maxFaces: ServiceConfiguration().maxFaces)])
    }

    @Test("multipart: every parameter as form text reaches the pipeline; booleans in any spelling")
    func multipartParameters() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            var form = MultipartBody()
            form.addFile(fileName: "a.png", data: TestImages.png())
            form.addField("fidelity", "0.7")
            form.addField("upscale", "4")
            form.addField("background_enhance", "TRUE")
            form.addField("face_upsample", "on")
            form.addField("return_base64", "Yes")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok)
            let result = try #require(response.results.first)
            let base64 = try #require(result["image_base64"] as? String)
            #expect(!base64.hasPrefix("data:"))
            let decoded = try ImageDecoder.decode(try #require(Data(base64Encoded: base64)))
            #expect(decoded.width == 128 && decoded.height == 96)
            let applied = try #require(result["applied"] as? [String: Any])
            #expect(applied["fidelity"] as? Double == 0.7 && applied["upscale"] as? Int == 4)
            #expect(applied["background_enhance"] as? Bool == true && applied["face_upsample"] as? Bool == true)
        }
        let options = try #require(harness.restorer.receivedOptions.first)
        #expect(options.fidelity == 0.7 && options.upscale == 4 && options.backgroundEnhance && options.faceUpsample)
        #expect(options.limits == LargeImageLimits(maxPixels: ServiceConfiguration().maxPixels))
    }

    @Test("JSON: data URI in image_base64 with JSON-typed parameters, as in the contract's example")
    func jsonSingle() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let body = jsonBody(["image_base64": "data:image/png;base64," + TestImages.png().base64EncodedString(),
                                 "fidelity": 0.5, "return_base64": true, "upscale": 1])
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .ok)
            let result = try #require(response.results.first)
            #expect(result["original_name"] as? String == "image.png")
            let inline = try #require(result["image_base64"] as? String)
            let decoded = try ImageDecoder.decode(try #require(Data(base64Encoded: inline)))
            #expect(decoded.width == 32 && decoded.height == 24)
        }
    }

    @Test("JSON: numeric and boolean strings are accepted")
    func jsonStrings() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let body = jsonBody(["image_base64": TestImages.png().base64EncodedString(), "fidelity": "0.25", "upscale": "1",
                                 "background_enhance": "yes", "return_base64": "0"])
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .ok)
            #expect(response.results.first?["image_base64"] == nil)
        }
        let options = try #require(harness.restorer.receivedOptions.first)
        #expect(options.fidelity == 0.25 && options.upscale == 1 && options.backgroundEnhance && !options.faceUpsample)
    }

    @Test("batches keep input order: multipart parts, and image_base64 before images_base64")
    func batchOrder() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            var form = MultipartBody()
            for (index, width) in [10, 20, 30].enumerated() {
                form.addFile(fileName: "img\(index).png", data: TestImages.png(width: width, height: 8))
            }
            form.addField("upscale", "1")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok)
            #expect(response.json["count"] as? Int == 3)
            #expect(response.results.map { $0["original_name"] as? String } == ["img0.png", "img1.png", "img2.png"])
            let files = response.results.compactMap { $0["filename"] as? String }
            #expect(Set(files).count == 3)
            for (file, width) in zip(files, [10, 20, 30]) {
                let image = try ImageDecoder.decode(Data(contentsOf: harness.resultsDirectory.appendingPathComponent(file)))
                #expect(image.width == width)
            }

            let json = jsonBody(["image_base64": TestImages.png(width: 5, height: 5).base64EncodedString(),
                                 "images_base64": [TestImages.png(width: 6, height: 6).base64EncodedString(),
                                                   "data:image/png;base64," + TestImages.png(width: 7, height: 7).base64EncodedString()],
                                 "upscale": 1])
            let second = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: json)
            #expect(second.results.map { $0["original_name"] as? String } == ["image.png", "image_1.png", "image_2.png"])
        }
        #expect(harness.restorer.receivedSizes.map(\.0) == [10, 20, 30, 5, 6, 7])
    }

    @Test("a batch is all or nothing: a bad third image fails the request, names it, and writes nothing")
    func batchAllOrNothing() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            var form = MultipartBody()
            form.addFile(fileName: "good1.png", data: TestImages.png())
            form.addFile(fileName: "good2.png", data: TestImages.png())
            form.addFile(fileName: "broken.jpg", data: TestImages.jpeg().prefix(200))
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .badRequest)
            #expect(response.json["status"] as? String == "error")
            #expect(response.message.contains("image 3 of 3 ('broken.jpg')"))
        }
        #expect(harness.resultFiles.isEmpty)
        #expect(harness.restorer.receivedOptions.isEmpty)
    }

    @Test("a failure in the pipeline half-way through a batch leaves no files")
    func batchFailureMidway() async throws {
        let restorer = StubRestorer(failure: RestorationError.notImplemented("whole-photo restoration"))
        let harness = try ServiceHarness(restorer: restorer)
        try await harness.test { client in
            var form = MultipartBody()
            form.addFile(fileName: "a.png", data: TestImages.png())
            form.addFile(fileName: "b.png", data: TestImages.png())
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .internalServerError)
        }
        #expect(harness.resultFiles.isEmpty)
    }

    @Test("image_url: the configured public base URL, else X-Forwarded-Proto/-Host, Forwarded, then Host")
    func imageURLs() async throws {
        func url(_ headers: HTTPFields, publicURL: String? = nil) async throws -> String? {
            let harness = try ServiceHarness { $0.publicBaseURL = publicURL }
            return try await harness.test { client in
                var fields = headers
                fields[.contentType] = "application/json"
                let response = try await client.execute(uri: "/api/process", method: .post, headers: fields,
                                                        body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
                return response.results.first?["image_url"] as? String
            }
        }
        let proto = HTTPField.Name("X-Forwarded-Proto")!, forwardedHost = HTTPField.Name("X-Forwarded-Host")!
        // The in-process client always sends scheme http and authority (Host) localhost.
        #expect(try await url([:])?.hasPrefix("http://localhost/static/results/api_result_") == true)
        #expect(try await url([proto: "https", forwardedHost: "faces.example.com:8443, proxy.local"])?
            .hasPrefix("https://faces.example.com:8443/static/results/") == true)
        #expect(try await url([HTTPField.Name("Forwarded")!: "for=1.2.3.4;proto=https;host=\"edge.example.com\", for=5.6.7.8"])?
            .hasPrefix("https://edge.example.com/static/results/") == true)
        #expect(try await url([proto: "javascript", forwardedHost: "evil.com/<script>"])?
            .hasPrefix("http://localhost/static/results/") == true)
        #expect(try await url([proto: "https"], publicURL: "https://cdn.example.com/faces")?
            .hasPrefix("https://cdn.example.com/faces/static/results/") == true)
    }

    @Test("large-image rules reach the pipeline and the applied values are reported")
    func largeImages() async throws {
        let harness = try ServiceHarness { $0.largeImageLimits = .init(reduceToTwoAbove: 40, reduceToOneAbove: 60) }
        try await harness.test { client in
            var form = MultipartBody()
            form.addFile(fileName: "medium.png", data: TestImages.png(width: 50, height: 10))
            form.addFile(fileName: "large.png", data: TestImages.png(width: 10, height: 70))
            form.addField("upscale", "4")
            form.addField("background_enhance", "true")
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: form.contentType], body: form.buffer)
            #expect(response.status == .ok)
            let applied = response.results.compactMap { $0["applied"] as? [String: Any] }
            #expect(applied.map { $0["upscale"] as? Int } == [2, 1])
            #expect(applied.map { $0["background_enhance"] as? Bool } == [true, false])
        }
    }

    @Test("inputs: JPEG, PNG grey / RGB / RGBA / 16-bit and WebP are accepted; alpha comes back")
    func inputLayouts() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let inputs = [
                TestImages.jpeg(),
                TestImages.png(channels: 1),
                TestImages.png(channels: 3),
                TestImages.png(channels: 4),
                try ImageEncoder.png(Image(width: 8, height: 8, channels: 3, bitDepth: 16, fill: 40000)),
                try ImageEncoder.webp(TestImages.gradient()),
            ]
            let body = jsonBody(["images_base64": inputs.map { $0.base64EncodedString() }, "upscale": 1, "return_base64": true])
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.results.count == inputs.count)
            let inline = try #require(response.results.dropFirst(3).first?["image_base64"] as? String)
            let rgba = try ImageDecoder.decode(try #require(Data(base64Encoded: inline)))
            #expect(rgba.channels == 4)
        }
    }

    @Test("JPEG EXIF orientation is applied before the pipeline sees the image")
    func exifOrientation() async throws {
        // A 40x20 JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
        var jpeg = [UInt8](TestImages.jpeg(width: 40, height: 20))
        var tiff: [UInt8] = Array("MM".utf8) + [0, 42, 0, 0, 0, 8]     // big-endian TIFF header, IFD at 8
        tiff += [0, 1]                                                // one entry
        tiff += [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]            // Orientation, SHORT, 1, value 6
        tiff += [0, 0, 0, 0]                                          // no next IFD
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        jpeg.insert(contentsOf: [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload, at: 2)
        let encoded = Data(jpeg).base64EncodedString()
        let harness = try ServiceHarness()
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                    body: jsonBody(["image_base64": encoded, "upscale": 1]))
            #expect(response.status == .ok)
        }
        #expect(harness.restorer.receivedSizes.map { [$0.0, $0.1] } == [[20, 40]])
    }

    @Test("the inference runs on the dedicated thread, not on a Swift concurrency thread")
    func dedicatedThread() async throws {
        final class ThreadRecorder: PhotoRestorer, @unchecked Sendable {
            let inventory = ModelInventory.allLoaded
            var names: [String] = []
            func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor) throws -> RestorationResult {
                names.append(ThreadName.current)
                return RestorationResult(image: image, facesFound: 0, facesRestored: 0, applied: options, faces: [], inputWasGray: false)
            }
        }
        let recorder = ThreadRecorder()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-thread-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServiceConfiguration()
        configuration.resultsDirectory = directory.path
        let service = try FaceRestoreService(configuration: configuration, restorer: recorder)
        defer { service.shutdown() }
        let app = service.makeApplication(logger: ServiceHarness.quietLogger)
        try await isolated { try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/process", method: .post, headers: [.contentType: "application/json"],
                                                    body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
            #expect(response.status == .ok)
        } }
        #expect(recorder.names == ["fr-inference"])
    }

    @Test("the warm-up runs the restorer's preparation once, on the inference thread")
    func warmUpOnInferenceThread() async throws {
        let harness = try ServiceHarness()
        try await harness.test { _ in try await harness.service.warmUp() }
        #expect(harness.restorer.warmUpThreads == ["fr-inference"])
    }
}
