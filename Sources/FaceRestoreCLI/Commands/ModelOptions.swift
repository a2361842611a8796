import ArgumentParser
import Foundation
import Networks
import Restoration

/// Where model files come from; shared by every command that loads a network.
struct ModelOptions: ParsableArguments {
    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    @Option(help: "A CodeFormer checkpoint (.pth or .safetensors) to use instead of <models>/codeformer.pth; a synthetic-weights manifest (*.manifest.json) also works, for testing.")
    var codeformer: String?

    var files: ModelFiles { ModelFiles(directory: models) }

    func codeformerURL() throws -> URL {
        if let codeformer {
            guard FileManager.default.fileExists(atPath: codeformer) else {
                throw ValidationError("--codeformer: no file at \(codeformer)")
            }
            return URL(fileURLWithPath: codeformer)
        }
        return try files.require(.codeformer)
    }

    func loadCodeFormer() throws -> CodeFormer {
        let url = try codeformerURL()
        if url.lastPathComponent.hasSuffix(".manifest.json") {
            return try CodeFormer(syntheticManifest: url)
        }
        return try CodeFormer(contentsOf: url)
    }
}
