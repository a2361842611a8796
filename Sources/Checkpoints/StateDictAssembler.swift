import TensorCore

/// Turns the unpickled top-level object of a torch checkpoint into a `StateDict`: reads the nested
/// weights group when there is one (`StateDictKeys.weightGroup`, e.g. basicsr's `params_ema`) and
/// materializes every tensor under its key as stored (`StateDictKeys.sanitized` removes prefixes). Shared by the zip and legacy readers, which differ only in where
/// storage bytes live.
enum StateDictAssembler {
    static func assemble(_ root: PickleValue, file: String, bigEndian: Bool,
                         storageBytes: (StorageReference) throws -> UnsafeRawBufferPointer) throws -> StateDict {
        guard case .dict(var dict) = root else {
            throw CheckpointError.notAStateDict(file: file, reason: "the top-level object is a \(root.typeName), not a dict")
        }
        let topLevel = dict.entries.compactMap { entry -> String? in
            if case .string(let key) = entry.key, case .dict = entry.value { key } else { nil }
        }
        if let group = StateDictKeys.weightGroup(among: topLevel), case .dict(let inner)? = dict[group] {
            dict = inner
        }
        var stateDict = StateDict(source: file)
        for (keyValue, value) in dict.entries {
            guard case .string(let rawKey) = keyValue else {
                throw CheckpointError.notAStateDict(file: file, reason: "a key is a \(keyValue.typeName), not a string")
            }
            guard case .tensor(let reference) = value else {
                let keys = dict.entries.compactMap { if case .string(let k) = $0.key { k } else { nil } }
                throw CheckpointError.notAStateDict(
                    file: file,
                    reason: "entry '\(rawKey)' is a \(value.typeName), not a tensor (top-level keys: \(keys.prefix(8).joined(separator: ", ")))")
            }
            let key = rawKey
            let (tensor, dtype) = try TensorMaterializer.materialize(
                reference, key: key, file: file, storageBytes: try storageBytes(reference.storage), bigEndian: bigEndian)
            try stateDict.insert(tensor, forKey: key, dtype: dtype)
        }
        return stateDict
    }

    /// Reads a torch persistent id `('storage', StorageType, key, location, numel[, view_metadata])`.
    static func storageReference(_ pid: PickleValue, file: String) throws -> (StorageReference, view: PickleValue?) {
        guard case .tuple(let fields) = pid, fields.count >= 5, case .string("storage") = fields[0] else {
            if case .tuple(let fields) = pid, case .string("module")? = fields.first {
                throw CheckpointError.notAStateDict(file: file, reason: "it stores a whole pickled model (module source code); save model.state_dict() instead")
            }
            throw CheckpointError.malformedPickle(file: file, offset: 0, reason: "persistent id is not a storage reference")
        }
        guard case .global(.storageType(let kind)) = fields[1] else {
            throw CheckpointError.malformedPickle(file: file, offset: 0, reason: "storage type is \(fields[1].typeName)")
        }
        let key: String
        switch fields[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw CheckpointError.malformedPickle(file: file, offset: 0, reason: "storage key is \(fields[2].typeName)")
        }
        guard case .int(let count) = fields[4], count >= 0 else {
            throw CheckpointError.malformedPickle(file: file, offset: 0, reason: "storage size is \(fields[4].typeName)")
        }
        return (StorageReference(key: key, kind: kind, elementCount: count), fields.count > 5 ? fields[5] : nil)
    }
}
