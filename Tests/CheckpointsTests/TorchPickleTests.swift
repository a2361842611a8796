import Foundation
import Testing
import Checkpoints
import TensorCore

/// Zip checkpoints built byte by byte, to exercise what the fixtures do not: strides, offsets,
/// shared storages, other dtypes, and every way the container can be wrong.
@Suite("Torch pickle and zip")
struct TorchPickleTests {
    static func checkpoint(pickle: [UInt8], storages: [String: [UInt8]], prefix: String = "archive",
                           pickleMethod: UInt16 = 0, byteorder: String? = "little") -> [UInt8] {
        var zip = ZipWriter()
        zip.add("\(prefix)/data.pkl", pickle, method: pickleMethod)
        if let byteorder { zip.add("\(prefix)/byteorder", Array(byteorder.utf8)) }
        for key in storages.keys.sorted() { zip.add("\(prefix)/data/\(key)", storages[key]!) }
        zip.add("\(prefix)/version", Array("3\n".utf8))
        return zip.bytes
    }

    @Test("strided views, storage offsets, shared storages, 0-d tensors, fp16 and int64 storages")
    func stridedAndShared() throws {
        let storage: [Float] = (0..<12).map(Float.init)
        let halves: [UInt16] = [0x3C00, 0x0001, 0xC000, 0x03FF, 0x4000, 0x8001]
        let longs: [Int64] = [7, -9, 1 << 40]
        let pickle = PickleWriter.stateDict([
            ("transposed", "FloatStorage", "0", 12, 0, [3, 4], [1, 3]),
            ("every_other", "FloatStorage", "0", 12, 2, [5], [2]),
            ("expanded", "FloatStorage", "0", 12, 1, [2, 3], [0, 1]),
            ("scalar", "FloatStorage", "0", 12, 5, [], []),
            ("plain", "FloatStorage", "0", 12, 4, [2, 2], [2, 1]),
            ("empty", "FloatStorage", "0", 12, 0, [0, 3], [3, 1]),
            ("half_t", "HalfStorage", "1", 6, 0, [3, 2], [1, 3]),
            ("longs", "LongStorage", "2", 3, 0, [3], [1]),
        ])
        let directory = try TemporaryDirectory()
        let url = try directory.write(
            Self.checkpoint(pickle: pickle, storages: [
                "0": bytes(of: storage), "1": halves.flatMap { le(UInt64($0), 2) },
                "2": longs.flatMap { le(UInt64(bitPattern: $0), 8) },
            ], prefix: "some_name"),
            name: "strided.pt")
        let weights = try CheckpointReader.load(url)
        #expect(weights.keys == ["transposed", "every_other", "expanded", "scalar", "plain", "empty", "half_t", "longs"])
        #expect(weights["transposed"]?.toArray() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
        #expect(weights["every_other"]?.toArray() == [2, 4, 6, 8, 10])
        #expect(weights["expanded"]?.toArray() == [1, 2, 3, 1, 2, 3])
        #expect(weights["scalar"]?.shape == [])
        #expect(weights["scalar"]?.toArray() == [5])
        #expect(weights["plain"]?.toArray() == [4, 5, 6, 7])
        #expect(weights["empty"]?.shape == [0, 3])
        #expect(weights["half_t"]?.toArray() == [1, 0x1p-14 * 1023 / 1024, 0x1p-24, 2, -2, -0x1p-24])
        #expect(weights.dtype(of: "half_t") == .float16)
        #expect(weights["longs"]?.toArray() == [7, -9, Float(1 << 40)])
        #expect(weights.dtype(of: "longs") == .int64)
    }

    @Test("big-endian byteorder is honoured")
    func bigEndian() throws {
        let pickle = PickleWriter.stateDict([("w", "FloatStorage", "0", 2, 0, [2], [1])])
        let data = [Float(1.5), -3].flatMap { le(UInt64($0.bitPattern.byteSwapped), 4) }
        let directory = try TemporaryDirectory()
        let url = try directory.write(Self.checkpoint(pickle: pickle, storages: ["0": data], byteorder: "big"), name: "be.pth")
        #expect(try CheckpointReader.load(url)["w"]?.toArray() == [1.5, -3])
    }

    @Test("params wrapper is unwrapped when params_ema is absent; keys as stored, module. prefix removed by sanitising")
    func paramsWrapper() throws {
        var p = PickleWriter()
        p.op(0x7D)  // EMPTY_DICT
        p.string("params")
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.tensorEntry(key: "module.conv.weight", storageType: "FloatStorage", storageKey: "0", numel: 2,
                      offset: 0, size: [2], stride: [1])
        p.op(0x73)
        p.op(0x73)
        p.stop()
        let directory = try TemporaryDirectory()
        let url = try directory.write(Self.checkpoint(pickle: p.bytes, storages: ["0": bytes(of: [4, 5])]), name: "p.pth")
        let raw = try CheckpointReader.load(url)
        #expect(raw.keys == ["module.conv.weight"])
        let weights = try StateDictKeys.sanitized(raw)
        #expect(weights.keys == ["conv.weight"])
        #expect(weights["conv.weight"]?.toArray() == [4, 5])
    }

    @Test("storage shorter than the tensor needs")
    func storageTooSmall() throws {
        let pickle = PickleWriter.stateDict([("w", "FloatStorage", "0", 10, 0, [10], [1])])
        let directory = try TemporaryDirectory()
        let url = try directory.write(Self.checkpoint(pickle: pickle, storages: ["0": bytes(of: [1, 2, 3, 4])]), name: "short.pth")
        #expect(throws: CheckpointError.storageTooSmall(file: "short.pth", key: "w", storage: "0", neededBytes: 40, availableBytes: 16)) {
            try CheckpointReader.load(url)
        }
        let strided = PickleWriter.stateDict([("w", "FloatStorage", "0", 4, 1, [2, 2], [2, 1])])
        let url2 = try directory.write(Self.checkpoint(pickle: strided, storages: ["0": bytes(of: [1, 2, 3, 4])]), name: "short2.pth")
        #expect(throws: CheckpointError.storageTooSmall(file: "short2.pth", key: "w", storage: "0", neededBytes: 20, availableBytes: 16)) {
            try CheckpointReader.load(url2)
        }
    }

    @Test("invalid geometry and unsupported dtypes name the key")
    func geometryAndDType() throws {
        let directory = try TemporaryDirectory()
        let negative = PickleWriter.stateDict([("w", "FloatStorage", "0", 4, 0, [-1], [1])])
        let url = try directory.write(Self.checkpoint(pickle: negative, storages: ["0": bytes(of: [1, 2, 3, 4])]), name: "neg.pth")
        #expect { try CheckpointReader.load(url) } throws: { error in
            if case CheckpointError.invalidTensorGeometry(_, "w", _) = error { true } else { false }
        }
        let huge = PickleWriter.stateDict([("w", "FloatStorage", "0", 4, 0, [1 << 30, 1 << 30], [0, 0])])
        let url2 = try directory.write(Self.checkpoint(pickle: huge, storages: ["0": bytes(of: [1])]), name: "huge.pth")
        #expect { try CheckpointReader.load(url2) } throws: { error in
            if case CheckpointError.invalidTensorGeometry(_, "w", _) = error { true } else { false }
        }
        let broadcast = PickleWriter.stateDict([("w", "FloatStorage", "0", 1, 0, [1 << 28], [0])])
        let url4 = try directory.write(Self.checkpoint(pickle: broadcast, storages: ["0": bytes(of: [1])]), name: "bcast.pth")
        #expect { try CheckpointReader.load(url4) } throws: { error in
            if case CheckpointError.invalidTensorGeometry(_, "w", _) = error { true } else { false }
        }
        let complex = PickleWriter.stateDict([("c", "ComplexFloatStorage", "0", 1, 0, [1], [1])])
        let url3 = try directory.write(Self.checkpoint(pickle: complex, storages: ["0": bytes(of: [1, 2])]), name: "complex.pth")
        #expect(throws: CheckpointError.unsupportedDType(file: "complex.pth", key: "c", dtype: "complex64")) {
            try CheckpointReader.load(url3)
        }
    }

    @Test("zip container errors: no data.pkl, missing storage member, compressed member, not a state dict")
    func containerErrors() throws {
        let directory = try TemporaryDirectory()
        var zip = ZipWriter()
        zip.add("archive/version", Array("3\n".utf8))
        let noPickle = try directory.write(zip.bytes, name: "nopickle.pth")
        #expect(throws: CheckpointError.missingEntry(file: "nopickle.pth", entry: "<archive>/data.pkl")) {
            try CheckpointReader.load(noPickle)
        }

        let pickle = PickleWriter.stateDict([("w", "FloatStorage", "7", 1, 0, [1], [1])])
        let missing = try directory.write(Self.checkpoint(pickle: pickle, storages: [:]), name: "nostorage.pth")
        #expect(throws: CheckpointError.missingEntry(file: "nostorage.pth", entry: "archive/data/7")) {
            try CheckpointReader.load(missing)
        }

        let compressed = try directory.write(Self.checkpoint(pickle: pickle, storages: ["7": bytes(of: [1])], pickleMethod: 8),
                                             name: "deflated.pth")
        #expect(throws: CheckpointError.compressedEntry(file: "deflated.pth", entry: "archive/data.pkl", method: 8)) {
            try CheckpointReader.load(compressed)
        }

        var list = PickleWriter()
        list.op(0x5D); list.int(3); list.op(0x61); list.stop()
        let notDict = try directory.write(Self.checkpoint(pickle: list.bytes, storages: [:]), name: "list.pth")
        #expect { try CheckpointReader.load(notDict) } throws: { error in
            if case CheckpointError.notAStateDict(file: "list.pth", _) = error { true } else { false }
        }

        var mixed = PickleWriter()
        mixed.op(0x7D); mixed.string("epoch"); mixed.int(3); mixed.op(0x73); mixed.stop()
        let epoch = try directory.write(Self.checkpoint(pickle: mixed.bytes, storages: [:]), name: "epoch.pth")
        #expect { try CheckpointReader.load(epoch) } throws: { error in
            if case CheckpointError.notAStateDict(_, let reason) = error { reason.contains("epoch") } else { false }
        }

        let garbage = try directory.write(Array("hello world, not a checkpoint".utf8), name: "text.pth")
        #expect { try CheckpointReader.load(garbage) } throws: { error in
            if case CheckpointError.unrecognizedFormat(file: "text.pth", _) = error { true } else { false }
        }
        let empty = try directory.write([], name: "empty.pth")
        #expect(throws: CheckpointError.self) { try CheckpointReader.load(empty) }
        #expect { try CheckpointReader.load(directory.url.appendingPathComponent("absent.pth")) } throws: { error in
            if case CheckpointError.unreadable(file: "absent.pth", _) = error { true } else { false }
        }
    }
}
