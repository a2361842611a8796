import Foundation
import Testing
import TensorCore
import TestSupport
import Checkpoints

/// The parts of `codeformer_tiny.config.json` the loader test checks against.
private struct TinyConfig: Decodable {
    let nParams: Int
    let stateDictKeys: [(String, [Int])]

    private enum CodingKeys: String, CodingKey { case n_params, state_dict_keys }

    /// Each key is listed as a `[name, shape]` pair.
    private struct Pair: Decodable {
        let name: String
        let shape: [Int]
        init(from decoder: Decoder) throws {
            var pair = try decoder.unkeyedContainer()
            name = try pair.decode(String.self)
            shape = try pair.decode([Int].self)
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nParams = try container.decode(Int.self, forKey: .n_params)
        stateDictKeys = try container.decode([Pair].self, forKey: .state_dict_keys).map { ($0.name, $0.shape) }
    }
}

@Suite("Fixture checkpoints")
struct FixtureCheckpointTests {
    @Test("codeformer_tiny.pth: zip format, params_ema unwrapped, keys and shapes as the config lists them",
          .enabled(if: Fixtures.available("codeformer/codeformer_tiny.pth")))
    func codeformerTiny() throws {
        #expect(try CheckpointReader.format(of: Fixtures.url("codeformer/codeformer_tiny.pth")) == .torchZip)
        let weights = try CheckpointReader.load(Fixtures.url("codeformer/codeformer_tiny.pth"))
        let config = try JSONDecoder().decode(
            TinyConfig.self, from: Data(contentsOf: Fixtures.url("codeformer/codeformer_tiny.config.json")))
        let listed = config.stateDictKeys

        #expect(weights.count == 423)
        #expect(weights.keys.first == "position_emb")
        #expect(weights.keys == listed.map(\.0))
        for (key, shape) in listed {
            #expect(weights[key]?.shape == shape, "\(key)")
            #expect(weights.dtype(of: key) == .float32, "\(key)")
        }
        #expect(weights.parameterCount == config.nParams)
        #expect(weights.parameterCount == 2_354_243)
        let embedding = try #require(weights["position_emb"]).toArray()
        #expect(embedding.allSatisfy { $0.isFinite })
        #expect(embedding.contains { $0 != 0 })
    }

    @Test("RetinaFace MobileNet: the legacy file and the module.-prefixed zip file give identical sanitised state dicts",
          .enabled(if: Fixtures.available("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")))
    func retinafaceLegacyAndZip() throws {
        let legacyURL = Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")
        let zipURL = Fixtures.url("facelib/retinaface_mnet/mnet_module_prefixed_zip.pth")
        #expect(try CheckpointReader.format(of: legacyURL) == .torchLegacy)
        #expect(try CheckpointReader.format(of: zipURL) == .torchZip)
        let legacy = try CheckpointReader.load(legacyURL)
        let zipped = try StateDictKeys.sanitized(CheckpointReader.load(zipURL))

        #expect(legacy.count == 300)
        #expect(Array(legacy.keys.prefix(6)) == [
            "body.stage1.0.0.weight", "body.stage1.0.1.weight", "body.stage1.0.1.bias",
            "body.stage1.0.1.running_mean", "body.stage1.0.1.running_var", "body.stage1.0.1.num_batches_tracked",
        ])
        #expect(Array(legacy.keys.suffix(3)) == [
            "LandmarkHead.1.conv1x1.bias", "LandmarkHead.2.conv1x1.weight", "LandmarkHead.2.conv1x1.bias",
        ])
        #expect(legacy.parameterCount == 433_343)
        #expect(zipped.keys == legacy.keys)
        #expect(!zipped.keys.contains { $0.hasPrefix("module.") })

        var integerBuffers = 0
        for key in legacy.keys {
            let a = try #require(legacy[key]), b = try #require(zipped[key])
            #expect(a.shape == b.shape, "\(key)")
            #expect(legacy.dtype(of: key) == zipped.dtype(of: key), "\(key)")
            #expect(a.toArray().map(\.bitPattern) == b.toArray().map(\.bitPattern), "\(key)")
            if key.hasSuffix("num_batches_tracked") {
                integerBuffers += 1
                #expect(legacy.dtype(of: key) == .int64)
                #expect(a.shape == [])
                #expect(a.toArray() == [1])
            } else {
                #expect(legacy.dtype(of: key) == .float32, "\(key)")
            }
        }
        #expect(integerBuffers > 0)
        let variance = try #require(legacy["body.stage1.0.1.running_var"]).toArray()
        #expect(variance.allSatisfy { $0 > 0 && $0.isFinite })
    }

    @Test("RealESRGAN_x4plus_fp16.pth: fp16 weights, fp32 biases, subnormal halves preserved",
          .enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth")))
    func realESRGANHalf() throws {
        let url = Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth")
        let clock = ContinuousClock()
        var weights: StateDict?
        let elapsed = try clock.measure { weights = try CheckpointReader.load(url) }
        let dict = try #require(weights)
        print("RealESRGAN_x4plus_fp16.pth (\(dict.parameterCount) parameters) loaded in \(elapsed)")

        #expect(dict.count == 702)
        #expect(dict.keys.first == "conv_first.weight")
        #expect(dict["conv_first.weight"]?.shape == [64, 3, 3, 3])
        var subnormal = 0, largestSubnormal = 0, zero = 0, nonFinite = 0, halfTensors = 0
        for key in dict.keys {
            if key.hasSuffix(".weight") {
                #expect(dict.dtype(of: key) == .float16, "\(key)")
            } else if key.hasSuffix(".bias") {
                #expect(dict.dtype(of: key) == .float32, "\(key)")
            }
            guard dict.dtype(of: key) == .float16 else { continue }
            halfTensors += 1
            for value in try #require(dict[key]).toArray() {
                if !value.isFinite { nonFinite += 1 }
                if value == 0 { zero += 1 } else if abs(value) < 0x1p-14 { subnormal += 1 }
                if abs(value) == 1023 * 0x1p-24 { largestSubnormal += 1 }
            }
        }
        #expect(halfTensors == 351)
        #expect(nonFinite == 0)
        // The file holds 7414 float16 subnormals (counted from the raw bits). The README's 7406 is
        // `abs(w) < 6.1e-5` evaluated in float16, where 6.1e-5 rounds to the largest subnormal
        // 1023 * 2^-24 and so excludes the 8 weights of exactly that magnitude.
        #expect(subnormal == 7414)
        #expect(subnormal - largestSubnormal == 7406)
        #expect(zero == 7)
    }
}
