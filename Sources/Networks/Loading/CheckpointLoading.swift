import Checkpoints
import TensorCore
import Foundation

extension ParameterStore {
    /// The tensors of a checkpoint already unwrapped and sanitised by `CheckpointReader`.
    package convenience init(_ stateDict: StateDict) {
        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(stateDict.count)
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        self.init(tensors: tensors, keys: stateDict.keys, source: stateDict.source)
    }
}

extension CodeFormer {
    /// Loads a CodeFormer checkpoint (`codeformer.pth` as released, or any file of the same layout).
    /// The head count comes from a sidecar JSON next to the file when there is one.
    package convenience init(contentsOf url: URL, precision: ComputePrecision = .float32) throws {
        let heads = CodeFormerConfiguration.sidecarHeads(for: url) ?? CodeFormerConfiguration.defaultHeads
        try self.init(ParameterStore(CheckpointReader.load(url)), heads: heads, precision: precision)
    }

    /// Builds the network from a synthetic-weights manifest (benchmarks and parity tests).
    package convenience init(syntheticManifest url: URL, heads: Int = CodeFormerConfiguration.defaultHeads, precision: ComputePrecision = .float32) throws {
        try self.init(ParameterStore(SyntheticWeights.load(manifest: url)), heads: heads, precision: precision)
    }
}
