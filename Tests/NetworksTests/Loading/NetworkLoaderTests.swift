import Checkpoints
import Foundation
import ModelCatalog
import Networks
import Testing
import TensorCore
import TestSupport

/// The one loader: which reader a file gets, the checksum record, key sanitisation, strictness.
@Suite struct NetworkLoaderTests {
    static let tinyPath = "realesrgan/tiny/tiny_rrdb_x2.pth"

    /// A fresh models folder, removed by the caller.
    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("network-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The tiny x2 RRDBNet's tensors with `edit` applied, written as safetensors at `name` in `directory`.
    static func writeTiny(in directory: URL, name: String, _ edit: (inout [(String, Tensor)]) throws -> Void = { _ in }) throws -> URL {
        let source = try NetworkLoader.stateDict(.checkpoint(Fixtures.url(tinyPath)))
        var entries = source.keys.map { ($0, source[$0]!) }
        try edit(&entries)
        var stateDict = StateDict(source: name)
        for (key, tensor) in entries { try stateDict.insert(tensor, forKey: key, dtype: .float32) }
        let url = directory.appendingPathComponent(name)
        try SafetensorsWriter.data(stateDict).write(to: url)
        return url
    }

    @Test("a .json file is a synthetic-weights manifest, anything else a checkpoint")
    func weightsFileKind() {
        #expect(WeightsFile(URL(fileURLWithPath: "/m/manifest.json")) == .syntheticManifest(URL(fileURLWithPath: "/m/manifest.json")))
        #expect(WeightsFile(URL(fileURLWithPath: "/m/MANIFEST.JSON")) == .syntheticManifest(URL(fileURLWithPath: "/m/MANIFEST.JSON")))
        #expect(WeightsFile(URL(fileURLWithPath: "/m/codeformer.pth")) == .checkpoint(URL(fileURLWithPath: "/m/codeformer.pth")))
        #expect(WeightsFile(URL(fileURLWithPath: "/m/x.safetensors")) == .checkpoint(URL(fileURLWithPath: "/m/x.safetensors")))
    }

    @Test("a manifest and a checkpoint each load through the same call",
          .enabled(if: Fixtures.available(tinyPath) && Fixtures.available("facelib/parsenet/manifest.json")))
    func manifestAndCheckpoint() throws {
        let loader = NetworkLoader()
        let parser = try loader.load(ParseNet.self, from: Fixtures.url("facelib/parsenet/manifest.json"), precision: .float32)
        #expect(parser.parsingChannels == 19)
        let upsampler = try loader.load(RRDBNet.self, from: Fixtures.url(Self.tinyPath), precision: .float32)
        #expect(upsampler.scale == 2)
    }

    @Test("the algorithm comes from the network for the precision")
    func algorithmFromPrecision() {
        #expect(RRDBNet.convolutionAlgorithm(for: .float32) == .fusedWinograd)
        #expect(RetinaFace.convolutionAlgorithm(for: .float32) == .direct)
        #expect(ParseNet.convolutionAlgorithm(for: .float32) == .winograd)
        #expect(CodeFormer.convolutionAlgorithm(for: .float32) == (Conv2d.activationBlock == 16 ? .winograd : .gemm))
        #expect(RRDBNet.convolutionAlgorithm(for: .bfloat16) == (Conv2d.bfloat16Supported ? .fusedWinogradOrBFloat16 : .fusedWinograd))
    }

    @Test("a file that no longer matches its recorded SHA-256 is refused; an unrecorded one loads",
          .enabled(if: Fixtures.available(tinyPath)))
    func checksumMismatchIsRefused() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = ModelFiles(directory: directory.path, environment: [:])
        let file = directory.appendingPathComponent(ModelFiles.Model.realesrganX2plus.fileName)
        try FileManager.default.copyItem(at: Fixtures.url(Self.tinyPath), to: file)
        #expect(throws: Never.self) { try NetworkLoader(files: files).load(RRDBNet.self, from: file, precision: .float32) }
        try ModelChecksums(files: files).hashAndRecord(file)
        #expect(throws: Never.self) { try NetworkLoader(files: files).load(RRDBNet.self, from: file, precision: .float32) }

        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0x01  // still parses: only the checksum can tell
        try bytes.write(to: file)
        #expect { try NetworkLoader(files: files).load(RRDBNet.self, from: file, precision: .float32) } throws: { error in
            guard case ModelChecksumError.mismatch(let name, _, _) = error else { return false }
            return name == ModelFiles.Model.realesrganX2plus.fileName
        }
        // Without a record to check against, the same bytes load.
        #expect(throws: Never.self) { try NetworkLoader().load(RRDBNet.self, from: file, precision: .float32) }
    }

    @Test("DataParallel's module. prefix is removed before the network sees the keys",
          .enabled(if: Fixtures.available(tinyPath)))
    func modulePrefix() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.writeTiny(in: directory, name: "prefixed.safetensors") { entries in
            entries = entries.map { ("module." + $0.0, $0.1) }
        }
        let loaded = try NetworkLoader().load(RRDBNet.self, from: url, algorithm: .direct)
        let reference = try NetworkLoader().load(RRDBNet.self, from: Fixtures.url(Self.tinyPath), algorithm: .direct)
        #expect(loaded.configuration == reference.configuration)
        let input = try Tensor(shape: [1, 3, 8, 8], values: (0..<192).map { Float($0 % 17) / 17 })
        #expect(try loaded(input).toArray() == reference(input).toArray())
    }

    @Test("a params_ema-wrapped checkpoint loads from the wrapper (codeformer_tiny.pth)",
          .enabled(if: Fixtures.available("codeformer/codeformer_tiny.pth")))
    func paramsEMA() throws {
        let stateDict = try NetworkLoader.stateDict(.checkpoint(Fixtures.url("codeformer/codeformer_tiny.pth")))
        #expect(stateDict.contains("position_emb") && !stateDict.keys.contains { $0.hasPrefix("params") })
        let network = try NetworkLoader().load(CodeFormer.self, from: Fixtures.url("codeformer/codeformer_tiny.pth"), precision: .float32)
        #expect(network.configuration.heads == 4)  // from codeformer_tiny.config.json beside it
    }

    @Test("a missing tensor is an error naming the file and the key", .enabled(if: Fixtures.available(tinyPath)))
    func missingKey() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.writeTiny(in: directory, name: "missing.safetensors") { $0.removeAll { $0.0 == "conv_hr.bias" } }
        #expect(throws: ModelLoadingError.missingKey(file: "missing.safetensors", key: "conv_hr.bias")) {
            try NetworkLoader().load(RRDBNet.self, from: url, precision: .float32)
        }
    }

    @Test("a mis-shaped tensor is an error naming the key and both shapes", .enabled(if: Fixtures.available(tinyPath)))
    func misShapedKey() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.writeTiny(in: directory, name: "shape.safetensors") { entries in
            entries = try entries.map { $0.0 == "conv_up1.weight" ? ($0.0, try Tensor(zeros: [16, 16, 1, 1])) : $0 }
        }
        #expect(throws: ModelLoadingError.shapeMismatch(file: "shape.safetensors", key: "conv_up1.weight", expected: [16, 16, 3, 3], actual: [16, 16, 1, 1])) {
            try NetworkLoader().load(RRDBNet.self, from: url, precision: .float32)
        }
    }

    @Test("a tensor the network does not use is an error naming it", .enabled(if: Fixtures.available(tinyPath)))
    func unusedKey() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try Self.writeTiny(in: directory, name: "extra.safetensors") { $0.append(("conv_up3.weight", try Tensor(zeros: [1]))) }
        #expect(throws: ModelLoadingError.unusedKeys(file: "extra.safetensors", keys: ["conv_up3.weight"])) {
            try NetworkLoader().load(RRDBNet.self, from: url, precision: .float32)
        }
    }
}
