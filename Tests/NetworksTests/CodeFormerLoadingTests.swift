import Checkpoints
import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// Strict loading: a checkpoint that is not exactly CodeFormer's layout is refused with an error that
/// names the tensor at fault.
@Suite struct CodeFormerLoadingTests {
    static let tinyPath = "codeformer/codeformer_tiny.pth"

    static func tinyTensors() throws -> (tensors: [String: Tensor], keys: [String]) {
        let stateDict = try NetworkLoader.stateDict(.checkpoint(Fixtures.url(tinyPath)))
        var tensors: [String: Tensor] = [:]
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        return (tensors, stateDict.keys)
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func missingTensorIsNamed() throws {
        var (tensors, keys) = try Self.tinyTensors()
        let victim = "generator.blocks.4.conv2.weight"
        tensors[victim] = nil
        keys.removeAll { $0 == victim }
        #expect(throws: ModelLoadingError.missingKey(file: "tiny", key: victim)) {
            try NetworkLoader.build(CodeFormer.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: CodeFormer.convolutionAlgorithm(for: .float32), weights: .checkpoint(Fixtures.url(Self.tinyPath)))
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func misShapedTensorIsNamedWithBothShapes() throws {
        var (tensors, keys) = try Self.tinyTensors()
        let victim = "fuse_convs_dict.64.scale.2.weight"
        tensors[victim] = try Tensor(zeros: [32, 32, 1, 1])
        #expect(throws: ModelLoadingError.shapeMismatch(file: "tiny", key: victim, expected: [32, 32, 3, 3], actual: [32, 32, 1, 1])) {
            try NetworkLoader.build(CodeFormer.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: CodeFormer.convolutionAlgorithm(for: .float32), weights: .checkpoint(Fixtures.url(Self.tinyPath)))
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func unexpectedTensorIsRefused() throws {
        var (tensors, keys) = try Self.tinyTensors()
        tensors["generator.blocks.99.extra"] = try Tensor(zeros: [1])
        keys.append("generator.blocks.99.extra")
        #expect(throws: ModelLoadingError.self) {
            try NetworkLoader.build(CodeFormer.self, from: ParameterStore(tensors: tensors, keys: keys, source: "tiny"), algorithm: CodeFormer.convolutionAlgorithm(for: .float32), weights: .checkpoint(Fixtures.url(Self.tinyPath)))
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func headCountMustDivideTheEmbedding() throws {
        let (tensors, keys) = try Self.tinyTensors()
        #expect(throws: ModelLoadingError.self) {
            try CodeFormer(ParameterStore(tensors: tensors, keys: keys, source: "tiny"), heads: 5)
        }
    }

    @Test(.enabled(if: Fixtures.available(tinyPath)))
    func truncatedCheckpointIsAnError() throws {
        let bytes = try Data(contentsOf: Fixtures.url(Self.tinyPath))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID().uuidString).pth")
        try bytes.prefix(bytes.count / 2).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: (any Error).self) { try NetworkLoader().load(CodeFormer.self, from: url, precision: .float32) }
    }

    @Test func otherNetworksFilesAreNotCodeFormer() throws {
        let tensors = ["body.conv1.weight": try Tensor(zeros: [8, 3, 3, 3])]
        #expect(throws: ModelLoadingError.missingKey(file: "x.pth", key: "position_emb")) {
            try CodeFormer(ParameterStore(tensors: tensors, keys: Array(tensors.keys), source: "x.pth"))
        }
    }
}
