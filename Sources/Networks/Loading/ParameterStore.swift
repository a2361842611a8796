package import TensorCore

/// The tensors of one checkpoint while a network takes them by key path.
///
/// Loading is strict, as in PyTorch's `load_state_dict(strict=True)`: every parameter a network asks
/// for must exist with the expected shape, and every tensor in the file must be used.
package final class ParameterStore {
    package let source: String
    package let keys: [String]
    private let tensors: [String: Tensor]
    private var used: Set<String> = []

    /// - Parameters:
    ///   - tensors: key -> tensor, keys already sanitised (no `module.` prefix, no `params_ema` nesting).
    ///   - keys: the file order.
    ///   - source: the file name, for error messages.
    package init(tensors: [String: Tensor], keys: [String], source: String) {
        self.tensors = tensors
        self.keys = keys
        self.source = source
    }

    package func contains(_ key: String) -> Bool { tensors[key] != nil }

    /// The tensor at `key`, checked against `shape` where a dimension is not nil.
    package func tensor(_ key: String, shape: [Int?]? = nil) throws -> Tensor {
        guard let tensor = tensors[key] else { throw ModelLoadingError.missingKey(file: source, key: key) }
        if let shape {
            let matches = shape.count == tensor.rank && zip(shape, tensor.shape).allSatisfy { $0 == nil || $0 == $1 }
            if !matches {
                let expected = shape.enumerated().map { $1 ?? ($0 < tensor.rank ? tensor.shape[$0] : -1) }
                throw ModelLoadingError.shapeMismatch(file: source, key: key, expected: expected, actual: tensor.shape)
            }
        }
        used.insert(key)
        return tensor
    }

    /// The shape of a tensor without taking it.
    package func shape(of key: String) throws -> [Int] {
        guard let tensor = tensors[key] else { throw ModelLoadingError.missingKey(file: source, key: key) }
        return tensor.shape
    }

    /// Keys under `prefix` (which should end in "."), in file order.
    package func keys(under prefix: String) -> [String] {
        keys.filter { $0.hasPrefix(prefix) }
    }

    /// Throws when a tensor of the file was never taken.
    package func verifyAllUsed() throws {
        let unused = keys.filter { !used.contains($0) }
        if !unused.isEmpty { throw ModelLoadingError.unusedKeys(file: source, keys: unused) }
    }

    /// A view that prefixes every key, for building a sub-module.
    package func scope(_ prefix: String) -> ParameterScope { ParameterScope(store: self, prefix: prefix) }
}

/// Parameters of one sub-module: keys relative to its prefix (`"conv1.weight"` under `"encoder.blocks.1."`).
package struct ParameterScope {
    package let store: ParameterStore
    package let prefix: String

    package func tensor(_ key: String, shape: [Int?]? = nil) throws -> Tensor {
        try store.tensor(prefix + key, shape: shape)
    }

    package func contains(_ key: String) -> Bool { store.contains(prefix + key) }

    package func shape(of key: String) throws -> [Int] { try store.shape(of: prefix + key) }

    package func scope(_ child: String) -> ParameterScope { ParameterScope(store: store, prefix: prefix + child) }

    package var source: String { store.source }

    /// `name.leaf`, or just `leaf` when the module is the scope itself.
    static func key(_ name: String, _ leaf: String) -> String { name.isEmpty ? leaf : name + "." + leaf }

    /// A convolution from `<name>.weight` (and `<name>.bias` when `bias`).
    package func conv(
        _ name: String, inChannels: Int? = nil, outChannels: Int? = nil, kernel: Int? = nil,
        stride: Int = 1, padding: ConvPadding, bias: Bool = true, algorithm: ConvAlgorithm = .direct
    ) throws -> Conv2d {
        let weight = try tensor(Self.key(name, "weight"), shape: [outChannels, inChannels, kernel, kernel])
        let b = bias ? try tensor(Self.key(name, "bias"), shape: [weight.shape[0]]) : nil
        return try Conv2d(weight: weight, bias: b, stride: stride, padding: padding, algorithm: algorithm)
    }

    package func groupNorm(_ name: String, channels: Int, groups: Int = 32, epsilon: Double) throws -> GroupNorm {
        guard channels % groups == 0 else {
            throw ModelLoadingError.unsupportedArchitecture(file: source, reason: "\(prefix)\(name) has \(channels) channels, not divisible into \(groups) groups")
        }
        return try GroupNorm(
            groups: groups, epsilon: epsilon,
            weight: try tensor(Self.key(name, "weight"), shape: [channels]),
            bias: try tensor(Self.key(name, "bias"), shape: [channels]))
    }

    package func linear(_ name: String, inFeatures: Int? = nil, outFeatures: Int? = nil, bias: Bool = true) throws -> Linear {
        let weight = try tensor(Self.key(name, "weight"), shape: [outFeatures, inFeatures])
        return try Linear(weight: weight, bias: bias ? try tensor(Self.key(name, "bias"), shape: [weight.shape[0]]) : nil)
    }

    package func layerNorm(_ name: String, features: Int, epsilon: Double = 1e-5) throws -> LayerNorm {
        try LayerNorm(
            weight: try tensor(Self.key(name, "weight"), shape: [features]),
            bias: try tensor(Self.key(name, "bias"), shape: [features]), epsilon: epsilon)
    }
}
