/// torch.save's format before 1.6 (still how many 2019-2020 release files are stored): consecutive
/// pickles (magic number, protocol version, sys info, the object, the list of storage keys), then each
/// storage as an int64 element count followed by its raw bytes, in the order of that list.
enum LegacyTorchCheckpoint {
    /// 0x1950a86a20f9469cfc6c, little-endian, as pickled by LONG1.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion = 1001

    static func load(_ file: MappedFile) throws -> StateDict {
        let name = file.name
        let bytes = file.bytes
        func notLegacy(_ reason: String) -> CheckpointError { .unrecognizedFormat(file: name, reason: reason) }

        var (value, position) = try Unpickler.load(bytes, file: name)
        guard case .bigInt(let magicBytes) = value, magicBytes == magic else {
            throw notLegacy("a pickle that does not start with torch's legacy magic number")
        }
        (value, position) = try Unpickler.load(bytes, from: position, file: name, baseOffset: 0)
        guard case .int(protocolVersion) = value else {
            throw notLegacy("legacy torch protocol version \(value) (only \(protocolVersion) exists)")
        }
        (value, position) = try Unpickler.load(bytes, from: position, file: name)
        var bigEndian = false
        if case .dict(let sysInfo) = value, case .bool(let little)? = sysInfo["little_endian"] {
            bigEndian = !little
        }

        // Root storages by key, as the persistent ids describe them; views are resolved against them.
        var roots: [String: StorageReference] = [:]
        var conflicting: String?
        let mainStart = position
        (value, position) = try Unpickler.load(bytes, from: position, file: name, baseOffset: 0) { pid in
            let (root, view) = try StateDictAssembler.storageReference(pid, file: name)
            if let known = roots[root.key], known.kind != root.kind { conflicting = root.key }
            roots[root.key] = root
            guard let view, case .tuple(let fields) = view else { return .storage(root) }
            // ('view_key', offset, view_size): a view into the root storage, in elements.
            guard fields.count == 3, case .int(let offset) = fields[1], case .int(let size) = fields[2],
                  offset >= 0, size >= 0 else {
                throw CheckpointError.malformedPickle(file: name, offset: mainStart, reason: "bad storage view metadata")
            }
            var reference = StorageReference(key: root.key, kind: root.kind, elementCount: size)
            reference.elementOffset = offset
            return .storage(reference)
        }
        let root = value
        if let conflicting {
            throw CheckpointError.malformedPickle(file: name, offset: mainStart, reason: "storage \(conflicting) has two types")
        }

        (value, position) = try Unpickler.load(bytes, from: position, file: name)
        guard case .list(let keyList) = value else {
            throw CheckpointError.malformedPickle(file: name, offset: position, reason: "storage key list is a \(value.typeName)")
        }
        var regions: [String: UnsafeRawBufferPointer] = [:]
        for item in keyList.items {
            guard case .string(let key) = item else {
                throw CheckpointError.malformedPickle(file: name, offset: position, reason: "storage key is a \(item.typeName)")
            }
            guard let storage = roots[key] else {
                throw CheckpointError.malformedPickle(file: name, offset: position, reason: "storage \(key) is listed but never referenced")
            }
            guard bytes.count - position >= 8 else { throw CheckpointError.truncated(file: name, what: "storage \(key)") }
            var countBits = bytes.littleEndian(at: position, width: 8)
            if bigEndian { countBits = countBits.byteSwapped }
            let count = Int(bitPattern: UInt(countBits))
            position += 8
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: storage.kind.byteSize)
            guard count >= 0, !overflow else {
                throw CheckpointError.malformedPickle(file: name, offset: position - 8, reason: "storage \(key) size \(count)")
            }
            guard byteCount <= bytes.count - position else {
                throw CheckpointError.truncated(file: name, what: "storage \(key) (\(byteCount) bytes)")
            }
            regions[key] = UnsafeRawBufferPointer(rebasing: bytes[position..<position + byteCount])
            position += byteCount
        }

        return try StateDictAssembler.assemble(root, file: name, bigEndian: bigEndian) { storage in
            guard let region = regions[storage.key] else {
                throw CheckpointError.missingEntry(file: name, entry: "storage \(storage.key)")
            }
            return region
        }
    }
}
