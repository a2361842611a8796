import ArgumentParser
import Benchmarks
import Foundation
import ModelCatalog
import Networks
import TensorCore

/// Loads a benchmark network through `NetworkLoader` (as the service loads it, checksum included)
/// and times it: `file` when given, else the official file in the models folder (when `installed`
/// names one), else the fixtures' synthetic-weights `manifest` for the same architecture.
func loadBenchmarkNetwork<N: LoadableNetwork>(
    _ network: N.Type, file: String?, installed model: ModelFiles.Model?, models: String?, manifest: String,
    precision: ComputePrecision
) throws -> (N, Double) {
    let files = ModelFiles(directory: models)
    let url: URL
    if let file {
        url = URL(fileURLWithPath: file)
    } else if let model, let installed = files.locate(model) {
        url = installed
    } else {
        guard FileManager.default.fileExists(atPath: manifest) else {
            let name = model.map { "\($0.fileName) given or installed" } ?? "checkpoint given"
            throw ValidationError("No \(name) and no manifest at \(manifest); pass a model file or --manifest.")
        }
        url = URL(fileURLWithPath: manifest)
    }
    var loaded: N!
    let seconds = try Clock.measure { loaded = try NetworkLoader(files: files).load(N.self, from: url, precision: precision) }
    return (loaded, seconds)
}
