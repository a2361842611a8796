import ArgumentParser
import Foundation
import Networks
import Restoration

/// The models folder alone: what `serve` and `models` need.
struct ModelsFolderOption: ParsableArguments {
    @Option(help: ArgumentHelp("Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).", valueName: "dir"))
    var models: String?

    var files: ModelFiles { ModelFiles(directory: models) }
}

/// Where model files come from; shared by every command that loads a network.
struct ModelOptions: ParsableArguments {
    @OptionGroup var folder: ModelsFolderOption

    @Option(help: "A CodeFormer checkpoint (.pth or .safetensors) to use instead of <models>/codeformer.pth; a synthetic-weights manifest (*.manifest.json) also works, for testing.")
    var codeformer: String?

    var models: String? { folder.models }

    var files: ModelFiles { folder.files }

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
