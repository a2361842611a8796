import Checkpoints
import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// Parity of RetinaFace with the official PyTorch network on `fixtures/facelib` (README "Tolerances":
/// R50 loc / conf_logits / landms max abs <= 5e-3, conf <= 2e-3; MobileNet outputs <= 2e-3).
@Suite(.serialized) struct RetinaFaceParityTests {
    static let r50MaxAbs = 5e-3, r50ConfMaxAbs = 2e-3
    static let mnetMaxAbs = 2e-3

    /// The README gives max-abs bounds only; the mean is held to the same bound.
    static func compare(_ actual: Tensor, _ fixture: String, maxAbs: Double) throws {
        try expectMatchesFixture(actual, fixture, maxAbs: maxAbs, meanAbs: maxAbs)
    }

    static func check(_ network: RetinaFace, directory: String, maxAbs: Double, confMaxAbs: Double) throws {
        let input = try NumpyArray(fixture: "\(directory)/input.npy").tensor
        let (loc, logits, landmarks) = try network(input)
        try compare(loc, "\(directory)/loc.npy", maxAbs: maxAbs)
        try compare(logits, "\(directory)/conf_logits.npy", maxAbs: maxAbs)
        try compare(RetinaFace.softmax(logits), "\(directory)/conf.npy", maxAbs: confMaxAbs)
        try compare(landmarks, "\(directory)/landms.npy", maxAbs: maxAbs)
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_mnet/input.npy")),
          arguments: ["detection_mobilenet0.25_Final.pth", "mnet_module_prefixed_zip.pth"])
    func mobileNetRealCheckpoint(file: String) throws {
        let network = try NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_mnet/\(file)"), algorithm: .direct)
        #expect(network.backbone == .mobileNet025)
        try Self.check(network, directory: "facelib/retinaface_mnet", maxAbs: Self.mnetMaxAbs, confMaxAbs: Self.mnetMaxAbs)
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_r50/manifest.json")),
          arguments: [ConvAlgorithm.direct, .gemm])
    func resNet50SyntheticWeights(algorithm: ConvAlgorithm) throws {
        let network = try NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_r50/manifest.json"), algorithm: algorithm)
        #expect(network.backbone == .resnet50)
        let input = try NumpyArray(fixture: "facelib/retinaface_r50/input.npy").tensor
        _ = try network(input)  // warm-up: oneDNN primitives are created on first use
        let start = ContinuousClock.now
        _ = try network(input)
        print("timing RetinaFace R50 (\(algorithm)) forward 640x840: \(ContinuousClock.now - start)")
        try Self.check(network, directory: "facelib/retinaface_r50", maxAbs: Self.r50MaxAbs, confMaxAbs: Self.r50ConfMaxAbs)
    }
}

/// Strict loading: every tensor (including `num_batches_tracked`) consumed, missing ones named.
@Suite struct RetinaFaceLoadingTests {
    static let mnetPath = "facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"

    @Test(.enabled(if: Fixtures.available(mnetPath)))
    func unexpectedAndMissingTensorsAreRefused() throws {
        let stateDict = try NetworkLoader.stateDict(.checkpoint(Fixtures.url(Self.mnetPath)))
        var tensors: [String: Tensor] = [:]
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        var keys = stateDict.keys
        #expect(keys.count == 300)
        var extra = tensors
        extra["body.fc.weight"] = try Tensor(zeros: [2, 2])
        #expect(throws: ModelLoadingError.unusedKeys(file: "mnet", keys: ["body.fc.weight"])) {
            try NetworkLoader.build(RetinaFace.self, from: ParameterStore(tensors: extra, keys: keys + ["body.fc.weight"], source: "mnet"), algorithm: .direct)
        }
        let victim = "ssh2.conv7X7_2.1.running_var"
        tensors[victim] = nil
        keys.removeAll { $0 == victim }
        #expect(throws: ModelLoadingError.missingKey(file: "mnet", key: victim)) {
            try NetworkLoader.build(RetinaFace.self, from: ParameterStore(tensors: tensors, keys: keys, source: "mnet"), algorithm: .direct)
        }
    }
}
