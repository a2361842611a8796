package import TensorCore

/// The element type a checkpoint stored a tensor in. Tensors are always handed out as float32;
/// this records what the file held (e.g. to tell fp16 release files from fp32 ones).
package enum StorageDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Bytes per element in the file.
    package var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }
}

/// Named float32 tensors in the order the file lists them: what a network's loader consumes.
package struct StateDict: Sendable {
    /// Names in file order.
    package private(set) var keys: [String]
    /// Last path component of the file the tensors came from; used in error messages.
    package let source: String
    private var entries: [String: Entry]

    private struct Entry: Sendable {
        var tensor: Tensor
        var dtype: StorageDType
    }

    package init(source: String) {
        self.source = source
        self.keys = []
        self.entries = [:]
    }

    package var count: Int { keys.count }

    /// The tensor stored under `key` (contiguous float32), or nil.
    package subscript(key: String) -> Tensor? { entries[key]?.tensor }

    /// What element type the file stored `key` in.
    package func dtype(of key: String) -> StorageDType? { entries[key]?.dtype }

    package func contains(_ key: String) -> Bool { entries[key] != nil }

    /// Total number of elements over all tensors.
    package var parameterCount: Int { keys.reduce(0) { $0 + entries[$1]!.tensor.elementCount } }

    /// Appends a tensor; adding an existing key is an error because order would become ambiguous.
    package mutating func insert(_ tensor: Tensor, forKey key: String, dtype: StorageDType) throws {
        guard entries[key] == nil else { throw CheckpointError.duplicateKey(file: source, key: key) }
        keys.append(key)
        entries[key] = Entry(tensor: tensor, dtype: dtype)
    }

    /// The tensor under `key`, or a `missingKey` error a user can act on.
    package func tensor(_ key: String) throws -> Tensor {
        guard let tensor = entries[key]?.tensor else { throw CheckpointError.missingKey(file: source, key: key) }
        return tensor
    }

    /// The tensor under `key`, checked against the shape the network expects.
    package func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        let tensor = try tensor(key)
        guard tensor.shape == shape else {
            throw CheckpointError.shapeMismatch(file: source, key: key, expected: shape, actual: tensor.shape)
        }
        return tensor
    }

    /// The entries whose names start with `prefix`, with the prefix removed: a sub-module's weights
    /// (`filtered(prefix: "encoder.")` gives `blocks.0.weight`, ...).
    package func filtered(prefix: String) -> StateDict {
        var out = StateDict(source: source)
        for key in keys where key.hasPrefix(prefix) {
            let entry = entries[key]!
            let short = String(key.dropFirst(prefix.count))
            out.keys.append(short)
            out.entries[short] = entry
        }
        return out
    }

    /// Removes `prefix` from every key that has it (e.g. `module.` written by DataParallel).
    package func removingPrefix(_ prefix: String) throws -> StateDict {
        var out = StateDict(source: source)
        for key in keys {
            let entry = entries[key]!
            let short = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
            try out.insert(entry.tensor, forKey: short, dtype: entry.dtype)
        }
        return out
    }
}
