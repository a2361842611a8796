import Foundation
import Testing
import TestSupport

/// The corpus of hostile images (`Tests/ServiceTests/Corpus`, made by its `make_corpus.py`) sent
/// to a real `facerestore serve` whose address space is capped (`prlimit --as`), so that an
/// allocation the size of an aspect-ratio bomb's enlargement would fail at once and end the
/// process: each file gets its documented status and message, and the server keeps serving.
@Suite("Hostile images: the corpus against a real server under a capped address space", .serialized,
       .enabled(if: SmallModels.available, "fixtures missing"))
struct HostileImageTests {
    struct Entry: Decodable, CustomStringConvertible {
        let file: String
        let status: Int
        let message: String
        let note: String
        var description: String { file }
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus")

    static func entries() throws -> [Entry] {
        try JSONDecoder().decode([Entry].self, from: Data(contentsOf: corpus.appendingPathComponent("manifest.json")))
    }

    /// 8 GiB of address space: far more than the small models need, far less than any bomb.
    static let launcher = ["prlimit", "--as=\(8 << 30)", "--"]

    @Test("every corpus file, as a multipart upload and as JSON base64, gets its status; the server survives and still restores")
    func corpusAgainstCappedServer() throws {
        let entries = try Self.entries()
        #expect(entries.count >= 10)
        let server = try ServeProcess(launcher: Self.launcher)
        defer { server.stop() }
        print("server address space: \(server.virtualMemory ?? "?")")
        for entry in entries {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent("images").appendingPathComponent(entry.file))
            var form = MultipartBody()
            form.addFile(fileName: entry.file, data: data, type: "application/octet-stream")
            let multipart = try server.post(body: form.body, contentType: form.contentType)
            let json = try server.post(body: Data(#"{"image_base64": "\#(data.base64EncodedString())"}"#.utf8), contentType: "application/json")
            for (kind, response) in [("multipart", multipart), ("json", json)] {
                #expect(response.status == entry.status, "\(entry) (\(kind)): \(response.status) \(response.message ?? "")")
                #expect(response.message.map { entry.message.isEmpty || $0.contains(entry.message) } == true,
                        "\(entry) (\(kind)): \(response.message ?? "no message")")
                #expect(server.isRunning, "\(entry) (\(kind)) ended the server:\n\(server.output.suffix(3000))")
            }
            if entry.status == 413, entry.file.hasPrefix("bomb_") {
                print("\(entry.file): \(multipart.message ?? "")")
            }
        }
        // Still restoring after all of it.
        var form = MultipartBody()
        form.addFile(fileName: "04.jpg", data: try Data(contentsOf: Fixtures.url("images/04.jpg")), type: "image/jpeg")
        let ordinary = try server.post(body: form.body, contentType: form.contentType, timeout: .seconds(120))
        #expect(ordinary.status == 200, "\(ordinary.message ?? "")")
        #expect(server.errorLines.isEmpty, "\(server.errorLines)")
    }
}

extension ServeProcess {
    /// POST `/api/process` on a fresh connection and read the whole reply.
    func post(body: Data, contentType: String, timeout: Duration = .seconds(30)) throws -> RawResponse {
        let connection = try RawConnection(port: port)
        connection.send("POST /api/process HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\r\n")
        connection.send(body)
        guard let response = connection.response(within: timeout), response.isComplete else {
            throw ServeProcessError.noResponse(isRunning: isRunning, output: String(output.suffix(3000)))
        }
        return response
    }

    /// `VmSize` of the server process, as /proc reports it.
    var virtualMemory: String? {
        let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        return status?.split(separator: "\n").first { $0.hasPrefix("VmSize:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
    }
}
