import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// Parity with the official PyTorch CodeFormer on `fixtures/codeformer` (tolerances from its README:
/// 10x the float32-vs-float64 noise of the reference, max-abs and mean-abs; code indices exact).
/// Each stage is compared on its own so a regression points at its stage.
@Suite(.serialized) struct CodeFormerParityTests {
    static let tinyFiles = ["codeformer/codeformer_tiny.pth", "codeformer/input.npy", "codeformer/logits.npy"]

    /// One forward per fidelity, shared by the tests of a suite (the network is deterministic).
    final class Runs: @unchecked Sendable {
        let network: CodeFormer
        private var outputs: [Float: CodeFormer.Output] = [:]
        private let input: Tensor
        init(_ network: CodeFormer) throws {
            self.network = network
            input = try NumpyArray(fixture: "codeformer/input.npy").tensor
        }
        func output(w: Float) throws -> CodeFormer.Output {
            if let cached = outputs[w] { return cached }
            let out = try network(input, w: w, adain: true)
            outputs[w] = out
            return out
        }
    }

    static let tiny: Result<Runs, Error> = Result {
        try Runs(NetworkLoader().load(CodeFormer.self, from: Fixtures.url("codeformer/codeformer_tiny.pth"), precision: .float32))
    }
    static let full: Result<Runs, Error> = Result {
        try Runs(NetworkLoader().load(CodeFormer.self, from: Fixtures.url("codeformer/codeformer_full.manifest.json"), precision: .float32))
    }

    static func compare(_ actual: Tensor, _ fixture: String, maxAbs: Double, meanAbs: Double) throws {
        try expectMatchesFixture(actual, fixture, maxAbs: maxAbs, meanAbs: meanAbs)
    }

    static func indices(_ fixture: String) throws -> [Int] {
        try NumpyArray(fixture: fixture).ints.map(Int.init)
    }

    // MARK: Tiny real checkpoint

    @Test(.enabled(if: tinyFiles.allSatisfy(Fixtures.available)))
    func tinyHyperparametersComeFromTheCheckpoint() throws {
        let config = try Self.tiny.get().network.configuration
        #expect(config.embedDim == 64 && config.heads == 4 && config.layers == 2)
        #expect(config.codebookSize == 96 && config.codeDim == 256 && config.latentSide == 16)
        #expect(config.connectList == ["32", "64", "128", "256"])
    }

    @Test(.enabled(if: tinyFiles.allSatisfy(Fixtures.available)))
    func tinyEncoderFeatures() throws {
        let out = try Self.tiny.get().output(w: 0.5)
        try Self.compare(out.encoderFeatures["256"]!, "codeformer/enc_256.npy", maxAbs: 1e-4, meanAbs: 1e-5)
        try Self.compare(out.encoderFeatures["128"]!, "codeformer/enc_128.npy", maxAbs: 2e-4, meanAbs: 1e-5)
        try Self.compare(out.encoderFeatures["64"]!, "codeformer/enc_64.npy", maxAbs: 5e-4, meanAbs: 2e-5)
        try Self.compare(out.encoderFeatures["32"]!, "codeformer/enc_32.npy", maxAbs: 5e-4, meanAbs: 2e-5)
        try Self.compare(out.lqFeature, "codeformer/lq_feat.npy", maxAbs: 5e-4, meanAbs: 5e-5)
    }

    @Test(.enabled(if: tinyFiles.allSatisfy(Fixtures.available)))
    func tinyLogitsAndCodes() throws {
        let out = try Self.tiny.get().output(w: 0.5)
        try Self.compare(out.logits, "codeformer/logits.npy", maxAbs: 2e-3, meanAbs: 2e-4)
        #expect(out.indices == (try Self.indices("codeformer/top_idx.npy")))
        try Self.compare(out.quantizedFeature, "codeformer/quant_feat_adain.npy", maxAbs: 2e-5, meanAbs: 5e-6)
    }

    @Test(.enabled(if: tinyFiles.allSatisfy(Fixtures.available)),
          arguments: [(Float(0), 5e-4, 2e-5), (0.5, 5e-4, 2e-5), (1.0, 1e-3, 2e-5)])
    func tinyRestoredFace(w: Float, maxAbs: Double, meanAbs: Double) throws {
        let out = try Self.tiny.get().output(w: w)
        try Self.compare(out.image, "codeformer/out_w\(w == 0 ? "0.0" : w == 1 ? "1.0" : "0.5").npy", maxAbs: maxAbs, meanAbs: meanAbs)
    }

    // MARK: Full official configuration, synthetic weights

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_full.manifest.json")))
    func fullConfigurationIsTheOfficialOne() throws {
        let config = try Self.full.get().network.configuration
        #expect(config.embedDim == 512 && config.heads == 8 && config.layers == 9 && config.codebookSize == 1024)
    }

    @Test(.enabled(if: Fixtures.available("codeformer/codeformer_full.manifest.json")))
    func fullStages() throws {
        let out = try Self.full.get().output(w: 0.5)
        try Self.compare(out.lqFeature, "codeformer/full_lq_feat.npy", maxAbs: 2e-5, meanAbs: 2e-6)
        try Self.compare(out.logits, "codeformer/full_logits.npy", maxAbs: 5e-4, meanAbs: 5e-5)
        #expect(out.indices == (try Self.indices("codeformer/full_top_idx.npy")))
        try Self.compare(out.quantizedFeature, "codeformer/full_quant_feat_adain.npy", maxAbs: 5e-6, meanAbs: 1e-6)
        try Self.compare(out.image, "codeformer/full_out_w0.5.npy", maxAbs: 1e-3, meanAbs: 2e-5)
    }
}
