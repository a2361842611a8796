import Foundation
import ModelCatalog
import Testing

@Suite("Model files")
struct ModelFilesTests {
    @Test("a missing file is an error that names the file, the folder, where to get it and its licence")
    func missingFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-files-\(UUID().uuidString)")
        let files = ModelFiles(directory: directory.path, environment: [:])
        #expect(files.locate(.parsing) == nil)
        #expect(throws: ModelFileError.missing(model: "parsing_parsenet.pth", directory: directory.path,
                                               releaseURL: ModelFiles.Model.parsing.releaseURL, license: ModelFiles.Model.parsing.license)) {
            try files.require(.parsing)
        }
    }

    @Test("the folder comes from the argument, else FACERESTORE_MODELS, else ./weights; the upstream layout is found")
    func folderAndLayout() throws {
        #expect(ModelFiles(directory: "/a", environment: ["FACERESTORE_MODELS": "/b"]).directory.path == "/a")
        #expect(ModelFiles(environment: ["FACERESTORE_MODELS": "/b"]).directory.path == "/b")
        #expect(ModelFiles(environment: [:]).directory.lastPathComponent == "weights")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = directory.appendingPathComponent("facelib/parsing_parsenet.pth")
        try FileManager.default.createDirectory(at: upstream.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: upstream)
        #expect(ModelFiles(directory: directory.path, environment: [:]).locate(.parsing)?.standardizedFileURL == upstream.standardizedFileURL)
    }
}
