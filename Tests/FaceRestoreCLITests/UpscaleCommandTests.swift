import Foundation
import Imaging
import ModelCatalog
import Testing
import TestSupport

/// `facerestore upscale` loads its model like `restore` and `serve`: through the loader, checked
/// against the models folder's SHA-256 record.
@Suite(.serialized) struct UpscaleCommandTests {
    static let tinyPath = "realesrgan/tiny/tiny_rrdb_x2.pth"

    /// A models folder holding the tiny x2 RRDBNet under the official name, and a small photo.
    static func setUp() throws -> (folder: URL, model: URL, image: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-upscale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = folder.appendingPathComponent("RealESRGAN_x2plus.pth")
        try FileManager.default.copyItem(at: Fixtures.url(tinyPath), to: model)
        let image = folder.appendingPathComponent("in.png")
        try ImageEncoder.png(Image(width: 24, height: 16, channels: 3, fill: 90)).write(to: image)
        return (folder, model, image)
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func upscalesWithTheRecordedModel() throws {
        let (folder, model, image) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ModelChecksums(directory: folder).hashAndRecord(model)
        let output = folder.appendingPathComponent("out.png")
        let run = try CommandRunner.run(["upscale", image.path, "--models", folder.path, "--tile", "0", "--output", output.path])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try ImageDecoder.decode(Data(contentsOf: output))
        #expect(result.width == 48 && result.height == 32)
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func refusesAModelThatNoLongerMatchesItsChecksum() throws {
        let (folder, model, image) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ModelChecksums(directory: folder).hashAndRecord(model)
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count / 2] ^= 0x01  // the file still parses: only the checksum can tell
        try bytes.write(to: model)
        let output = folder.appendingPathComponent("out.png")
        let run = try CommandRunner.run(["upscale", image.path, "--models", folder.path, "--output", output.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("does not match the SHA-256"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
