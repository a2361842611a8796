import Checkpoints
import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// Parity of ParseNet with the official PyTorch network on `fixtures/facelib/parsenet` (synthetic
/// weights). Tolerances from `facelib/README.md`: logits max abs <= 1e-3 (float64 differs from the
/// float32 reference by 9e-5); argmax >= 99.9 % equal, every mismatch at a pixel whose reference
/// top-1/top-2 margin is < 1e-3.
@Suite(.serialized) struct ParseNetParityTests {
    static let directory = "facelib/parsenet"
    static let logitsMaxAbs = 1e-3
    static let marginBound: Float = 1e-3
    static let argmaxAgreement = 0.999

    static func network(_ algorithm: ConvAlgorithm) throws -> ParseNet {
        try NetworkLoader().load(ParseNet.self, from: Fixtures.url("\(directory)/manifest.json"), algorithm: algorithm)
    }

    @Test(.enabled(if: Fixtures.available("facelib/parsenet/manifest.json")),
          arguments: [ConvAlgorithm.direct, .winograd, .gemm])
    func logitsArgmaxAndImage(algorithm: ConvAlgorithm) throws {
        let network = try Self.network(algorithm)
        #expect(network.body.count == 10 && network.parsingChannels == 19)
        let input = try NumpyArray(fixture: "\(Self.directory)/input.npy").tensor
        _ = try network(input)  // warm-up: oneDNN primitives are created on first use
        let start = ContinuousClock.now
        let (mask, image) = try network(input)
        print("timing ParseNet \(algorithm) forward 512x512: \(ContinuousClock.now - start)")

        // Logits.
        let expected = try NumpyArray(fixture: "\(Self.directory)/logits.npy")
        #expect(mask.shape == expected.shape && expected.shape == [1, 19, 512, 512])
        guard mask.shape == expected.shape else { return }
        let logits = mask.toArray()
        let closeness = Closeness(logits, expected.floats, absolute: Self.logitsMaxAbs)
        print("parity ParseNet \(algorithm) logits: max abs \(closeness.maxAbs) (tolerance \(Self.logitsMaxAbs)), mean abs \(closeness.meanAbs)")
        #expect(closeness.isClose, "\(closeness)")

        // Argmax: mismatches only at near-ties of the reference.
        let reference = try NumpyArray(fixture: "\(Self.directory)/argmax.npy")
        #expect(reference.shape == [512, 512])
        let (channels, plane) = (19, 512 * 512)
        let labels = try ParseNet.labels(fromLogits: mask)
        var mismatches = 0, unexplained = 0, smallestMismatchMargin = Float.infinity
        var referenceMatchesLogits = true, labelDisagreements = 0
        for i in 0..<plane {
            var (best, bestValue) = (0, logits[i])
            var (refBest, top1, top2) = (0, expected.floats[i], -Float.infinity)
            for ch in 1..<channels {
                let v = logits[ch * plane + i]
                if v > bestValue { (best, bestValue) = (ch, v) }
                let r = expected.floats[ch * plane + i]
                if r > top1 { (refBest, top2, top1) = (ch, top1, r) } else if r > top2 { top2 = r }
            }
            if refBest != Int(reference.ints[i]) { referenceMatchesLogits = false }
            if Int(labels[i]) != best { labelDisagreements += 1 }
            if best != Int(reference.ints[i]) {
                mismatches += 1
                let margin = top1 - top2
                smallestMismatchMargin = min(smallestMismatchMargin, margin)
                if margin >= Self.marginBound { unexplained += 1 }
            }
        }
        #expect(labelDisagreements == 0, "ParseNet.labels(fromLogits:) differs from the first-maximum argmax")
        #expect(referenceMatchesLogits, "argmax.npy is not the first-maximum argmax of logits.npy")
        let agreement = 1 - Double(mismatches) / Double(plane)
        print("parity ParseNet \(algorithm) argmax: \(mismatches) of \(plane) differ (agreement \(agreement), tolerance \(Self.argmaxAgreement)), \(unexplained) at reference margin >= \(Self.marginBound)")
        #expect(agreement >= Self.argmaxAgreement)
        #expect(unexplained == 0)

        // Second output: compared through the sampled values and statistics in meta.json.
        #expect(image.shape == [1, 3, 512, 512])
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(Self.directory)/meta.json"))) as? [String: Any]
        let outputs = meta?["outputs"] as? [String: Any]
        let imageMeta = try #require(outputs?["out_img (second output, unused by paste-back)"] as? [String: Any])
        let indices = try #require(imageMeta["sample_flat_index"] as? [Int])
        let samples = try #require(imageMeta["sample_values"] as? [Double])
        let values = image.toArray()
        var worstSample = 0.0
        for (index, value) in zip(indices, samples) { worstSample = max(worstSample, abs(Double(values[index]) - value)) }
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let std = (values.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(values.count)).squareRoot()
        let refMean = try #require(imageMeta["mean"] as? Double), refStd = try #require(imageMeta["std"] as? Double)
        print("parity ParseNet \(algorithm) out_img: samples max abs \(worstSample), mean \(mean) vs \(refMean), std \(std) vs \(refStd)")
        #expect(worstSample <= Self.logitsMaxAbs)
        #expect(abs(mean - refMean) <= 1e-4 && abs(std - refStd) <= 1e-4)
    }
}

/// Strict loading of ParseNet checkpoints: errors name the tensor.
@Suite struct ParseNetLoadingTests {
    static let manifest = "facelib/parsenet/manifest.json"

    static func tensors() throws -> (tensors: [String: Tensor], keys: [String]) {
        let stateDict = try NetworkLoader.stateDict(.syntheticManifest(Fixtures.url(manifest)))
        var tensors: [String: Tensor] = [:]
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        return (tensors, stateDict.keys)
    }

    @Test(.enabled(if: Fixtures.available(manifest)))
    func loadsEveryTensor() throws {
        let network = try NetworkLoader().load(ParseNet.self, from: Fixtures.url(Self.manifest), algorithm: .direct)
        #expect(network.encoder.count == 4 && network.body.count == 10 && network.decoder.count == 4)
        #expect(network.parsingChannels == 19)
    }

    @Test(.enabled(if: Fixtures.available(manifest)))
    func misShapedTensorIsNamedWithBothShapes() throws {
        var (tensors, keys) = try Self.tensors()
        let victim = "decoder.2.conv1.conv2d.weight"
        #expect(tensors[victim]?.shape == [128, 256, 3, 3])
        tensors[victim] = try Tensor(zeros: [128, 128, 3, 3])
        #expect(throws: ModelLoadingError.shapeMismatch(file: "parsenet", key: victim, expected: [128, 256, 3, 3], actual: [128, 128, 3, 3])) {
            try NetworkLoader.build(ParseNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "parsenet"), algorithm: .direct)
        }
    }

    @Test(.enabled(if: Fixtures.available(manifest)))
    func misShapedBatchNormIsNamed() throws {
        var (tensors, keys) = try Self.tensors()
        let victim = "body.3.conv2.norm.norm.running_var"
        tensors[victim] = try Tensor(zeros: [255])
        #expect(throws: ModelLoadingError.shapeMismatch(file: "parsenet", key: victim, expected: [256], actual: [255])) {
            try NetworkLoader.build(ParseNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "parsenet"), algorithm: .direct)
        }
    }

    @Test(.enabled(if: Fixtures.available(manifest)))
    func missingTensorIsNamed() throws {
        var (tensors, keys) = try Self.tensors()
        let victim = "encoder.2.shortcut_func.conv2d.bias"
        tensors[victim] = nil
        keys.removeAll { $0 == victim }
        #expect(throws: ModelLoadingError.missingKey(file: "parsenet", key: victim)) {
            try NetworkLoader.build(ParseNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "parsenet"), algorithm: .direct)
        }
    }

    @Test(.enabled(if: Fixtures.available(manifest)))
    func unexpectedTensorIsRefused() throws {
        var (tensors, keys) = try Self.tensors()
        // A body block with an identity shortcut must not have shortcut weights.
        tensors["body.0.shortcut_func.conv2d.weight"] = try Tensor(zeros: [256, 256, 3, 3])
        keys.append("body.0.shortcut_func.conv2d.weight")
        #expect(throws: ModelLoadingError.unusedKeys(file: "parsenet", keys: ["body.0.shortcut_func.conv2d.weight"])) {
            try NetworkLoader.build(ParseNet.self, from: ParameterStore(tensors: tensors, keys: keys, source: "parsenet"), algorithm: .direct)
        }
    }
}
