/// What the restricted unpickler can produce. There is no "object" case: anything a state dict does
/// not need is refused while unpickling rather than represented.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for `Int` (e.g. the legacy magic number), little-endian two's complement.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global, referenced but not yet called.
    case global(AllowedGlobal)
    case storage(StorageReference)
    case tensor(TensorReference)

    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

/// Lists and dicts are mutable and shared through the memo, as in Python, so they are classes.
final class PickleList {
    var items: [PickleValue] = []
    /// Nesting bookkeeping for the unpickler's depth limit.
    var depth = 1
    var nested = false
}

/// An insertion-ordered dict (Python dicts and OrderedDicts both keep order). String keys are
/// indexed so that repeated assignment replaces in place, like Python.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    /// Nesting bookkeeping for the unpickler's depth limit.
    var depth = 1
    var nested = false

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let name) = key {
            if let position = stringIndex[name] {
                entries[position].value = value
                return
            }
            stringIndex[name] = entries.count
        }
        entries.append((key, value))
    }

    subscript(name: String) -> PickleValue? {
        stringIndex[name].map { entries[$0].value }
    }
}

/// A storage as the checkpoint's persistent id describes it; the bytes are resolved after unpickling.
struct StorageReference {
    /// Zip member name under `data/` or the legacy root key.
    let key: String
    let kind: StorageKind
    /// Element count announced by the persistent id.
    let elementCount: Int
    /// Legacy storage views start this many elements into their root storage.
    var elementOffset: Int = 0
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided window into a storage.
struct TensorReference {
    let storage: StorageReference
    let storageOffset: Int
    let size: [Int]
    let stride: [Int]
}

/// torch storage classes by name. Kinds without a `dtype` are recognised (so the error names the
/// tensor) but cannot be converted to float32.
struct StorageKind: Equatable {
    let className: String
    let dtype: StorageDType?
    let dtypeName: String
    let byteSize: Int

    static let byName: [String: StorageKind] = {
        let supported: [(String, StorageDType)] = [
            ("FloatStorage", .float32), ("HalfStorage", .float16), ("BFloat16Storage", .bfloat16),
            ("DoubleStorage", .float64), ("LongStorage", .int64), ("IntStorage", .int32),
            ("ShortStorage", .int16), ("CharStorage", .int8), ("ByteStorage", .uint8), ("BoolStorage", .bool),
            ("UntypedStorage", .uint8),
        ]
        let unsupported: [(String, String, Int)] = [
            ("ComplexFloatStorage", "complex64", 8), ("ComplexDoubleStorage", "complex128", 16),
            ("QInt8Storage", "qint8", 1), ("QUInt8Storage", "quint8", 1), ("QInt32Storage", "qint32", 4),
            ("QUInt4x2Storage", "quint4x2", 1), ("QUInt2x4Storage", "quint2x4", 1),
        ]
        var table: [String: StorageKind] = [:]
        for (name, dtype) in supported {
            table[name] = StorageKind(className: name, dtype: dtype, dtypeName: dtype.rawValue, byteSize: dtype.byteSize)
        }
        for (name, dtypeName, size) in unsupported {
            table[name] = StorageKind(className: name, dtype: nil, dtypeName: dtypeName, byteSize: size)
        }
        return table
    }()
}

/// The only globals a checkpoint may reference. Everything else is refused by name.
enum AllowedGlobal: Equatable {
    case orderedDict
    case rebuildTensor
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(StorageKind)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _), ("torch.storage", _):
            guard let kind = StorageKind.byName[name] else { return nil }
            self = .storageType(kind)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor: "torch._utils._rebuild_tensor"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .storageType(let kind): "torch.\(kind.className)"
        }
    }
}
