import Foundation
import Hummingbird
import HummingbirdTesting
import Imaging
import Testing
@testable import Service
import Restoration

/// The contract's curl examples, run verbatim with curl against a started server (stand-in
/// restorer; `ServiceEndToEndTests` runs the first one again through the real pipeline).
@Suite("Contract curl examples", .enabled(if: ContractExamples.curlAvailable, "curl is not installed"))
struct CurlExamplesTests {
    @Test("both curl examples succeed as written, with absolute image URLs that serve the PNG")
    func examples() async throws {
        let commands = ContractExamples.curlCommands
        #expect(commands.count == 2)
        let harness = try ServiceHarness()
        let work = harness.directory.appendingPathComponent("client")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try TestImages.jpeg(width: 40, height: 30).write(to: work.appendingPathComponent("my_photo.jpg"))
        let png = TestImages.png().base64EncodedString()
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            var responses: [[String: Any]] = []
            for command in commands {
                let (status, output) = try await ContractExamples.run(ContractExamples.prepared(command, port: port, pngBase64: png), in: work)
                #expect(status == 0, "curl failed: \(command)")
                let json = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
                #expect(json["status"] as? String == "success")
                #expect(json["count"] as? Int == 1)
                responses.append(json)
            }
            let first = try #require((responses.first?["results"] as? [[String: Any]])?.first)
            #expect(first["original_name"] as? String == "my_photo.jpg")
            #expect(first["image_base64"] == nil)
            let url = try #require(first["image_url"] as? String)
            #expect(url.hasPrefix("http://localhost:\(port)/static/results/api_result_"))
            let (fetchStatus, bytes) = try await ContractExamples.run("curl -sf '\(url)'", in: work)
            #expect(fetchStatus == 0)
            #expect(try ImageDecoder.decode(bytes).width == 80)

            let second = try #require((responses.last?["results"] as? [[String: Any]])?.first)
            #expect(second["original_name"] as? String == "image.png")
            let inline = try #require(second["image_base64"] as? String)
            #expect(try ImageDecoder.decode(try #require(Data(base64Encoded: inline))).width == 64)
        }
        let options = harness.restorer.receivedOptions
        #expect(options.count == 2)
        #expect(options.first?.fidelity == 0.7 && options.first?.backgroundEnhance == true)
        #expect(options.last?.fidelity == 0.5 && options.last?.backgroundEnhance == false)
    }

    @Test("the contract's fetch example: a page on another origin posts FormData and reads image_url (node)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/node") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/node")))
    func fetchExample() async throws {
        let harness = try ServiceHarness()
        let work = harness.directory.appendingPathComponent("client")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try TestImages.jpeg().write(to: work.appendingPathComponent("photo.jpg"))
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            // The contract's snippet, with a Blob from a file standing in for fileInput.files[0]
            // and an Origin header as a browser page on another origin would send.
            let script = """
                const fs = require('fs');
                (async () => {
                  const fileInput = { files: [new Blob([fs.readFileSync('photo.jpg')], { type: 'image/jpeg' })] };
                  const formData = new FormData();
                  formData.append('image', fileInput.files[0]);
                  formData.append('fidelity', '0.5');
                  const response = await fetch('http://localhost:\(port)/api/process', { method: 'POST', body: formData, headers: { Origin: 'http://app.example' } });
                  const data = await response.json();
                  console.log(JSON.stringify({ cors: response.headers.get('access-control-allow-origin'), url: data.results[0].image_url }));
                })().catch(e => { console.error(e); process.exit(1); });
                """
            try script.write(to: work.appendingPathComponent("fetch.js"), atomically: true, encoding: .utf8)
            let (status, output) = try await ContractExamples.run("node fetch.js", in: work)
            #expect(status == 0)
            let json = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
            #expect(json["cors"] as? String == "*")
            #expect((json["url"] as? String)?.hasPrefix("http://localhost:\(port)/static/results/api_result_") == true)
        }
    }
}
