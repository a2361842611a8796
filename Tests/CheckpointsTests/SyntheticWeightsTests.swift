import Foundation
import Testing
import TestSupport
import Checkpoints
import TensorCore

@Suite("Synthetic weights")
struct SyntheticWeightsTests {
    /// The SYNTHETIC_WEIGHTS.md formula, written out independently in 64-bit integer arithmetic.
    static func expected(i: UInt64, k: UInt64, seed: UInt64, offset: Double, scale: Double) -> Float {
        let u = (i * 2_654_435_761 + k * 40503 + seed * 97) % 4_294_967_296
        let x = Double(u) / 4_294_967_296.0
        return Float(offset + scale * (2 * x - 1))
    }

    @Test("hand-computed elements")
    func handComputed() {
        // Bit patterns computed once by hand from the formula (u = 679, 387399105, 146458787, 2257309599, 72428188).
        #expect(SyntheticWeights.value(element: 0, tensor: 0, seed: 7, offset: 0, scale: 0.19245).bitPattern == 0xBE45_1199)
        #expect(SyntheticWeights.value(element: 5, tensor: 3, seed: 7, offset: 1, scale: 0.2).bitPattern == 0x3F56_094C)
        #expect(SyntheticWeights.value(element: 1000, tensor: 12, seed: 7, offset: -0.5, scale: 0.353006).bitPattern
                == 0xBF54_34D1)
        #expect(SyntheticWeights.value(element: 123_456, tensor: 0, seed: 23_099_839, offset: 0, scale: 0.5).bitPattern
                == 0x3CD1_79F4)
        #expect(SyntheticWeights.value(element: 127, tensor: 514, seed: 23_099_839, offset: 0, scale: 0.005).bitPattern
                == 0xBB9E_506D)
    }

    @Test("a small manifest: values, int64 zeros, order, dtype")
    func smallManifest() throws {
        let directory = try TemporaryDirectory()
        let json = """
        {"seed": 7, "tensors": [
          {"k": 0, "name": "conv.weight", "shape": [4, 3, 3, 3], "dtype": "float32", "offset": 0.0, "scale": 0.19245},
          {"k": 1, "name": "bn.running_var", "shape": [4], "dtype": "float32", "offset": 1, "scale": 0.2},
          {"k": 2, "name": "bn.num_batches_tracked", "shape": [], "dtype": "int64", "offset": 0.0, "scale": 0.0},
          {"k": 3, "name": "big", "shape": [600000], "dtype": "float32", "offset": -0.25, "scale": 0.75}
        ]}
        """
        let url = try directory.write(Array(json.utf8), name: "small.manifest.json")
        let weights = try SyntheticWeights.load(manifest: url)
        #expect(weights.keys == ["conv.weight", "bn.running_var", "bn.num_batches_tracked", "big"])
        #expect(weights.dtype(of: "bn.num_batches_tracked") == .int64)
        #expect(weights["bn.num_batches_tracked"]?.toArray() == [0])
        let specs: [(String, UInt64, Double, Double)] = [
            ("conv.weight", 0, 0, 0.19245), ("bn.running_var", 1, 1, 0.2), ("big", 3, -0.25, 0.75),
        ]
        for (name, k, offset, scale) in specs {
            let values = try #require(weights[name]).toArray()
            let expected = values.indices.map {
                Self.expected(i: UInt64($0), k: k, seed: 7, offset: offset, scale: scale).bitPattern
            }
            #expect(values.map(\.bitPattern) == expected, "\(name)")
        }
    }

    @Test("malformed manifest is a typed error")
    func malformedManifest() throws {
        let directory = try TemporaryDirectory()
        let missingScale = try directory.write(
            Array(#"{"seed": 1, "tensors": [{"k": 0, "name": "a", "shape": [2], "dtype": "float32", "offset": 0}]}"#.utf8),
            name: "bad.json")
        #expect {
            try SyntheticWeights.load(manifest: missingScale)
        } throws: { error in
            guard case CheckpointError.malformedManifest(let file, let reason) = error else { return false }
            return file == "bad.json" && reason.contains("scale")
        }
        let wrongDType = try directory.write(
            Array(#"{"seed": 1, "tensors": [{"k": 0, "name": "a", "shape": [2], "dtype": "float16", "offset": 0, "scale": 1}]}"#.utf8),
            name: "dtype.json")
        #expect(throws: CheckpointError.self) { try SyntheticWeights.load(manifest: wrongDType) }
    }

    @Test("full CodeFormer manifest: 515 tensors, 94,112,707 parameters",
          .enabled(if: Fixtures.available("codeformer/codeformer_full.manifest.json")))
    func fullCodeFormer() throws {
        let url = Fixtures.url("codeformer/codeformer_full.manifest.json")
        let clock = ContinuousClock()
        var loaded: StateDict?
        let elapsed = try clock.measure { loaded = try SyntheticWeights.load(manifest: url) }
        let weights = try #require(loaded)
        print("codeformer_full.manifest.json (\(weights.parameterCount) parameters) built in \(elapsed)")

        #expect(weights.count == 515)
        #expect(weights.parameterCount == 94_112_707)
        #expect(weights.keys.first == "position_emb")
        #expect(weights.keys.last == "fuse_convs_dict.256.shift.2.bias")
        #expect(weights["position_emb"]?.shape == [256, 512])
        #expect(weights["encoder.blocks.0.weight"]?.shape == [64, 3, 3, 3])

        let seed: UInt64 = 23_099_839
        let position = try #require(weights["position_emb"]).toArray()
        for i in [0, 1, 12_345, 123_456, position.count - 1] {
            #expect(position[i].bitPattern == Self.expected(i: UInt64(i), k: 0, seed: seed, offset: 0, scale: 0.5).bitPattern)
        }
        let lastBias = try #require(weights["fuse_convs_dict.256.shift.2.bias"]).toArray()
        #expect(lastBias[127].bitPattern == 0xBB9E_506D)
        let gamma = try #require(weights["encoder.blocks.1.norm1.weight"]).toArray()
        #expect(gamma.map(\.bitPattern) == gamma.indices.map {
            Self.expected(i: UInt64($0), k: 3, seed: seed, offset: 1, scale: 0.2).bitPattern
        })
    }
}
