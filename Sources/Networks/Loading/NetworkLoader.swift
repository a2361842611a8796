package import Checkpoints
package import Foundation
package import ModelCatalog
package import TensorCore

/// The one way to turn a weights file into a network: checks the file against the models folder's
/// SHA-256 record, reads it as a checkpoint or a synthetic-weights manifest (`WeightsFile`),
/// sanitises the keys (`StateDictKeys`), builds the network strictly (missing, mis-shaped and
/// unused tensors are `ModelLoadingError`s) with the convolution algorithm it picks for the
/// precision.
package struct NetworkLoader: Sendable {
    /// The record files are checked against; nil checks nothing (files outside any models folder,
    /// tests). A file the record does not list loads unchecked, as `ModelChecksums.verify` says.
    package let checksums: ModelChecksums?

    package init(checksums: ModelChecksums? = nil) {
        self.checksums = checksums
    }

    /// A loader that checks files against the record in `files`' folder.
    package init(files: ModelFiles) {
        self.init(checksums: ModelChecksums(files: files))
    }

    /// Loads `url` as an `N` running in `precision` (the algorithm is `N.convolutionAlgorithm(for:)`).
    package func load<N: LoadableNetwork>(_ network: N.Type, from url: URL, precision: ComputePrecision) throws -> N {
        try load(N.self, from: url, algorithm: N.convolutionAlgorithm(for: precision))
    }

    /// Loads `url` as an `N` with every convolution choice derived from `algorithm` (tests and
    /// benchmarks that compare algorithms).
    package func load<N: LoadableNetwork>(_ network: N.Type, from url: URL, algorithm: ConvAlgorithm) throws -> N {
        let weights = WeightsFile(url)
        if let checksums { try checksums.verify(url) }
        return try Self.build(N.self, from: Self.stateDict(weights), algorithm: algorithm, weights: weights)
    }

    /// The sanitised state dict of `weights`, read but not yet built into a network.
    package static func stateDict(_ weights: WeightsFile) throws -> StateDict {
        let raw = switch weights {
        case .checkpoint(let url): try CheckpointReader.load(url)
        case .syntheticManifest(let url): try SyntheticWeights.load(manifest: url)
        }
        return try StateDictKeys.sanitized(raw)
    }

    /// Builds an `N` from a sanitised state dict, strictly: every tensor must be used.
    package static func build<N: LoadableNetwork>(
        _ network: N.Type, from stateDict: StateDict, algorithm: ConvAlgorithm, weights: WeightsFile? = nil
    ) throws -> N {
        try build(N.self, from: ParameterStore(stateDict), algorithm: algorithm, weights: weights)
    }

    /// Builds an `N` from `parameters`, strictly: every tensor must be used.
    package static func build<N: LoadableNetwork>(
        _ network: N.Type, from parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile? = nil
    ) throws -> N {
        let network = try N(parameters, algorithm: algorithm, weights: weights)
        try parameters.verifyAllUsed()
        return network
    }
}
