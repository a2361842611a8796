import Foundation

/// torch.save's zip format (torch >= 1.6): `<archive>/data.pkl` holds the object, and each storage it
/// references by persistent id `('storage', type, key, location, numel)` is the member `<archive>/data/<key>`.
enum TorchCheckpoint {
    static func load(_ file: MappedFile) throws -> StateDict {
        let name = file.name
        let archive = try ZipArchive(file.bytes, file: name)
        guard let pickle = archive.entries.first(where: { entry in
            guard entry.name.hasSuffix("/data.pkl") else { return false }
            return !entry.name.dropLast("/data.pkl".count).contains("/")
        }) else {
            throw CheckpointError.missingEntry(file: name, entry: "<archive>/data.pkl")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))

        var bigEndian = false
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try member(order, of: file), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw CheckpointError.malformedZip(file: name, reason: "byteorder is '\(text)'")
            }
        }

        let (root, _) = try Unpickler.load(try member(pickle, of: file), file: name, baseOffset: pickle.dataOffset) { pid in
            .storage(try StateDictAssembler.storageReference(pid, file: name).0)
        }
        return try StateDictAssembler.assemble(root, file: name, bigEndian: bigEndian) { storage in
            let memberName = prefix + "data/" + storage.key
            guard let entry = archive.entry(named: memberName) else {
                throw CheckpointError.missingEntry(file: name, entry: memberName)
            }
            return try member(entry, of: file)
        }
    }

    private static func member(_ entry: ZipArchive.Entry, of file: MappedFile) throws -> UnsafeRawBufferPointer {
        guard entry.method == 0 else {
            throw CheckpointError.compressedEntry(file: file.name, entry: entry.name, method: entry.method)
        }
        return UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataOffset..<entry.dataOffset + entry.size])
    }
}
