import Checkpoints
import Foundation
import Testing
import TensorCore

/// Key sanitisation, the one place that knows training code's wrappers and prefixes.
@Suite("State dict keys")
struct StateDictKeysTests {
    static func stateDict(_ keys: [String]) throws -> StateDict {
        var dict = StateDict(source: "w.pth")
        for (i, key) in keys.enumerated() { try dict.insert(Tensor(shape: [1], values: [Float(i)]), forKey: key, dtype: .float32) }
        return dict
    }

    @Test("the DataParallel prefix is removed, order and values kept; keys without it are unchanged")
    func dataParallelPrefix() throws {
        let sanitized = try StateDictKeys.sanitized(Self.stateDict(["module.a.weight", "module.b.bias"]))
        #expect(sanitized.keys == ["a.weight", "b.bias"])
        #expect(sanitized["b.bias"]?.toArray() == [1])
        #expect(try StateDictKeys.sanitized(Self.stateDict(["a.module.weight"])).keys == ["a.module.weight"])
    }

    @Test("two keys that become one are a duplicate-key error naming the key")
    func collision() throws {
        #expect(throws: CheckpointError.duplicateKey(file: "w.pth", key: "a.weight")) {
            try StateDictKeys.sanitized(Self.stateDict(["a.weight", "module.a.weight"]))
        }
    }

    @Test("params_ema is preferred over params; no group without either")
    func weightGroups() {
        #expect(StateDictKeys.weightGroup(among: ["params", "params_ema", "iter"]) == "params_ema")
        #expect(StateDictKeys.weightGroup(among: ["params", "optimizer"]) == "params")
        #expect(StateDictKeys.weightGroup(among: ["conv.weight"]) == nil)
    }

    @Test("a torch checkpoint holding both groups is read from params_ema")
    func checkpointPrefersEMA() throws {
        var p = PickleWriter()
        p.op(0x7D)  // EMPTY_DICT
        for (group, storage) in [("params", "0"), ("params_ema", "1")] {
            p.string(group)
            p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
            p.tensorEntry(key: "module.w", storageType: "FloatStorage", storageKey: storage, numel: 1, offset: 0, size: [1], stride: [1])
            p.op(0x73)
            p.op(0x73)
        }
        p.stop()
        let directory = try TemporaryDirectory()
        let url = try directory.write(
            TorchPickleTests.checkpoint(pickle: p.bytes, storages: ["0": bytes(of: [1]), "1": bytes(of: [2])]), name: "both.pth")
        let weights = try StateDictKeys.sanitized(CheckpointReader.load(url))
        #expect(weights.keys == ["w"])
        #expect(weights["w"]?.toArray() == [2])
    }
}
