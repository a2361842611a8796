import Foundation
import ModelCatalog
import Restoration
import Testing
import TestSupport

@Suite("Loading the pipeline's models")
struct FaceRestorationModelsTests {
    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("FaceRestorationModels.load refuses a model whose file no longer matches its recorded checksum",
          .enabled(if: Fixtures.available("realesrgan/tiny/tiny_rrdb_x2.pth")))
    func loadChecksChecksums() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("RealESRGAN_x2plus.pth")
        try FileManager.default.copyItem(at: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2.pth"), to: file)
        let files = ModelFiles(directory: directory.path, environment: [:])
        try ModelChecksums(files: files).hashAndRecord(file)
        #expect(FaceRestorationModels.load(from: files).upsampler != nil)

        // Change one byte of a tensor's data (the file still parses): only the checksum can tell.
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: file)
        let models = FaceRestorationModels.load(from: files)
        #expect(models.upsampler == nil)
        #expect(models.problems[.realesrganX2plus]?.contains("does not match the SHA-256") == true)
    }
}
