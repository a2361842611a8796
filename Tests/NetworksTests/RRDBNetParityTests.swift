import Checkpoints
import Foundation
@testable import Networks
import Testing
import TensorCore
import TestSupport

/// Parity of the raw network with the official PyTorch RRDBNet on `fixtures/realesrgan` (tolerances
/// from its README, section 3: full-size max abs <= 2e-4 and mean abs <= 5e-6; tiny max abs <= 1e-5
/// and mean abs <= 1e-6).
@Suite(.serialized) struct RRDBNetParityTests {
    static let fullMaxAbs = 2e-4, fullMeanAbs = 5e-6
    static let tinyMaxAbs = 1e-5, tinyMeanAbs = 1e-6

    static func compare(_ actual: Tensor, _ fixture: String, maxAbs: Double, meanAbs: Double) throws {
        try expectMatchesFixture(actual, fixture, maxAbs: maxAbs, meanAbs: meanAbs)
    }

    // MARK: Tiny checkpoints (2 blocks, 16 features, 8 growth channels)

    /// Every algorithm float32 runs: oneDNN's direct kernels, and the tensor core's Winograd (the
    /// default, `RRDBNet.convolutionAlgorithm(for: .float32)`).
    static let algorithms: [ConvAlgorithm] = [.direct, .fusedWinograd]

    @Test(.enabled(if: Fixtures.available("realesrgan/tiny/input.npy")),
          arguments: ["x2", "x4", "x2_tuned", "x4_tuned"], algorithms)
    func tiny(variant: String, algorithm: ConvAlgorithm) throws {
        let checkpoint = "realesrgan/tiny/tiny_rrdb_\(variant).pth"
        try #require(Fixtures.available(checkpoint))
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url(checkpoint), algorithm: algorithm)
        #expect(network.scale == (variant.hasPrefix("x2") ? 2 : 4))
        let input = try NumpyArray(fixture: "realesrgan/tiny/input.npy").tensor
        try Self.compare(network(input), "realesrgan/tiny/tiny_\(variant)_output.npy", maxAbs: Self.tinyMaxAbs, meanAbs: Self.tinyMeanAbs)
    }

    // MARK: Full size

    @Test(.enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth")), arguments: algorithms)
    func x4plusRealWeights(algorithm: ConvAlgorithm) throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth"), algorithm: algorithm)
        let input = try NumpyArray(fixture: "realesrgan/x4plus/raw_input.npy").tensor
        _ = try network(input)  // warm-up: oneDNN primitives are created on first use
        let start = ContinuousClock.now
        let output = try network(input)
        print("timing x4plus forward 64x64 -> 256x256 (\(algorithm)): \(ContinuousClock.now - start)")
        try Self.compare(output, "realesrgan/x4plus/raw_output.npy", maxAbs: Self.fullMaxAbs, meanAbs: Self.fullMeanAbs)
    }

    /// The upsampling tail runs on bands of rows with a halo: every row must be what the whole map gives.
    @Test(.enabled(if: Fixtures.available("realesrgan/RealESRGAN_x4plus_fp16.pth")), arguments: algorithms)
    func bandedTailMatchesWholeMap(algorithm: ConvAlgorithm) throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/RealESRGAN_x4plus_fp16.pth"), algorithm: algorithm)
        let shape = [1, network.configuration.features, 23, 20]
        var generator = SystemRandomNumberGenerator()
        let feat = try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
        let whole = try network.upsampled(feat, bandRows: 1000)
        for rows in [1, 5, 8] {
            let banded = try network.upsampled(feat, bandRows: rows)
            #expect(banded.shape == [1, 3, 92, 80])
            // Winograd tiles a band from its own first row, so its rounding differs from the whole
            // map's (about 1e-6 relative); a wrong halo would be off by whole pixels' worth.
            let tolerance = algorithm == .fusedWinograd ? 2e-5 : 1e-6
            let closeness = Closeness(banded.toArray(), whole.toArray(), absolute: tolerance, relative: tolerance)
            #expect(closeness.isClose, "bands of \(rows) rows: \(closeness)")
        }
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/x2plus_synth/manifest.json")), arguments: algorithms)
    func x2plusSyntheticWeights(algorithm: ConvAlgorithm) throws {
        let network = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/x2plus_synth/manifest.json"), algorithm: algorithm)
        let config = network.configuration
        #expect(config.scale == 2 && config.blocks == 23 && config.features == 64 && config.growChannels == 32)
        #expect(config.inChannels == 3 && config.outChannels == 3)
        let input = try NumpyArray(fixture: "realesrgan/x2plus_synth/raw_input.npy").tensor
        try Self.compare(network(input), "realesrgan/x2plus_synth/raw_output.npy", maxAbs: Self.fullMaxAbs, meanAbs: Self.fullMeanAbs)
    }
}

/// Strict loading of RRDBNet checkpoints: hyperparameters from shapes, errors naming the tensor.
@Suite struct RRDBNetLoadingTests {
    static let tinyPath = "realesrgan/tiny/tiny_rrdb_x2.pth"
    static let x4plusPath = "realesrgan/RealESRGAN_x4plus_fp16.pth"

    static func tinyTensors() throws -> (tensors: [String: Tensor], keys: [String]) {
        let stateDict = try NetworkLoader.stateDict(.checkpoint(Fixtures.url(tinyPath)))
        var tensors: [String: Tensor] = [:]
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        return (tensors, stateDict.keys)
    }

    @Test(.enabled(if: Fixtures.available(x4plusPath)))
    func x4plusHyperparameters() throws {
        let config = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url(Self.x4plusPath), algorithm: .direct).configuration
        #expect(config == RRDBNetConfiguration(inChannels: 3, outChannels: 3, features: 64, growChannels: 32, blocks: 23, scale: 4))
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func tinyHyperparameters() throws {
        let config = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url(Self.tinyPath), algorithm: .direct).configuration
        #expect(config == RRDBNetConfiguration(inChannels: 3, outChannels: 3, features: 16, growChannels: 8, blocks: 2, scale: 2))
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func misShapedTensorIsNamedWithBothShapes() throws {
        var (tensors, keys) = try Self.tinyTensors()
        let victim = "body.1.rdb2.conv3.weight"
        #expect(tensors[victim]?.shape == [8, 32, 3, 3])
        tensors[victim] = try Tensor(zeros: [8, 24, 3, 3])
        #expect(throws: ModelLoadingError.shapeMismatch(file: "tiny", key: victim, expected: [8, 32, 3, 3], actual: [8, 24, 3, 3])) {
            try NetworkLoader.build(RRDBNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: .direct)
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func missingTensorIsNamed() throws {
        var (tensors, keys) = try Self.tinyTensors()
        let victim = "body.0.rdb3.conv5.bias"
        tensors[victim] = nil
        keys.removeAll { $0 == victim }
        #expect(throws: ModelLoadingError.missingKey(file: "tiny", key: victim)) {
            try NetworkLoader.build(RRDBNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: .direct)
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func unexpectedTensorIsRefused() throws {
        var (tensors, keys) = try Self.tinyTensors()
        tensors["conv_up3.weight"] = try Tensor(zeros: [16, 16, 3, 3])
        keys.append("conv_up3.weight")
        #expect(throws: ModelLoadingError.unusedKeys(file: "tiny", keys: ["conv_up3.weight"])) {
            try NetworkLoader.build(RRDBNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: .direct)
        }
    }
}
