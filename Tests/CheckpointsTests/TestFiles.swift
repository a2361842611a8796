import Foundation

/// Writes test inputs to a fresh temporary directory (removed when the value is deinitialised).
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], name: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Emits pickle opcodes by hand, so tests can build exactly the streams they need (hostile ones included).
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func mark() { op(0x28) }
    mutating func tuple() { op(0x74) }
    mutating func stop() { op(0x2E) }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        op(0x58)
        bytes += le(UInt64(utf8.count), 4) + utf8
    }

    mutating func int(_ value: Int) {
        op(0x4A)
        bytes += le(UInt64(UInt32(truncatingIfNeeded: value)), 4)
    }

    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func intTuple(_ values: [Int]) {
        mark()
        for v in values { int(v) }
        tuple()
    }

    /// `key: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, for SETITEM.
    mutating func tensorEntry(key: String, storageType: String, storageKey: String, numel: Int,
                              offset: Int, size: [Int], stride: [Int]) {
        string(key)
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark(); string("storage"); global("torch", storageType); string(storageKey); string("cpu"); int(numel); tuple()
        op(0x51)  // BINPERSID
        int(offset)
        intTuple(size)
        intTuple(stride)
        op(0x89)  // NEWFALSE
        global("collections", "OrderedDict"); op(0x29); op(0x52)
        tuple()
        op(0x52)  // REDUCE
    }

    /// A whole `OrderedDict` state dict pickle.
    static func stateDict(_ entries: [(key: String, storageType: String, storageKey: String, numel: Int,
                                      offset: Int, size: [Int], stride: [Int])]) -> [UInt8] {
        var p = PickleWriter()
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        for e in entries {
            p.tensorEntry(key: e.key, storageType: e.storageType, storageKey: e.storageKey, numel: e.numel,
                          offset: e.offset, size: e.size, stride: e.stride)
            p.op(0x73)  // SETITEM
        }
        p.stop()
        return p.bytes
    }
}

func le(_ value: UInt64, _ width: Int) -> [UInt8] {
    (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

func bytes(of floats: [Float]) -> [UInt8] { floats.flatMap { le(UInt64($0.bitPattern), 4) } }

/// A minimal zip writer (stored members, or a fake compression method to test refusal).
struct ZipWriter {
    private var body: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) {
        let nameBytes = Array(name.utf8)
        let offset = body.count
        body += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(UInt64(method), 2) + le(0, 4) + le(0, 4)
        body += le(UInt64(data.count), 4) + le(UInt64(data.count), 4) + le(UInt64(nameBytes.count), 2) + le(0, 2)
        body += nameBytes + data
        directory += le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(UInt64(method), 2) + le(0, 4) + le(0, 4)
        directory += le(UInt64(data.count), 4) + le(UInt64(data.count), 4) + le(UInt64(nameBytes.count), 2)
        directory += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(offset), 4) + nameBytes
        count += 1
    }

    var bytes: [UInt8] {
        body + directory + le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(UInt64(count), 2) + le(UInt64(count), 2)
            + le(UInt64(directory.count), 4) + le(UInt64(body.count), 4) + le(0, 2)
    }
}
