import Foundation
import Networks
import TensorCore

/// The networks a restoration can use, loaded once. Any of them may be missing: a request that
/// needs a missing one fails with `RestorationError.modelMissing`, the others keep working.
package final class FaceRestorationModels: @unchecked Sendable {
    package let codeformer: CodeFormer?
    package let detector: RetinaFace?
    package let parser: ParseNet?
    package let upsampler: RealESRGANer?
    /// Why each missing model is missing (file absent, or failed to load), keyed by model.
    package let problems: [ModelFiles.Model: String]
    /// Where the models came from, for the messages that say how to install a missing one.
    package let files: ModelFiles

    package init(codeformer: CodeFormer?, detector: RetinaFace?, parser: ParseNet?, upsampler: RealESRGANer?,
                files: ModelFiles, problems: [ModelFiles.Model: String] = [:],
                detectorModel: ModelFiles.Model = .detectionResNet50) {
        self.detectorModel = detectorModel
        self.codeformer = codeformer
        self.detector = detector
        self.parser = parser
        self.upsampler = upsampler
        self.files = files
        self.problems = problems
    }

    /// Runs CodeFormer and ParseNet once on a blank 512x512 face, so that the first request does not
    /// pay for building their oneDNN primitives and reordering their weights (about a second on two
    /// cores). RetinaFace and Real-ESRGAN see shapes that depend on the photo: left to the requests.
    package func warmUp() throws {
        let side = CodeFormerConfiguration.imageSize
        let face = try Tensor(zeros: [1, 3, side, side])
        if let codeformer { _ = try codeformer(face, w: 0.5) }
        if let parser { _ = try parser(face) }
    }

    /// Which RetinaFace file to use: the demo's ResNet-50, the small MobileNet-0.25, or whichever is
    /// present (ResNet-50 first).
    package enum DetectorChoice: String, Sendable, CaseIterable {
        case automatic, resnet50, mobilenet
    }

    /// The demo's Real-ESRGAN settings for the background and face upsampler: tile 400, tile pad 40,
    /// no pre-pad.
    package static let upsamplerTile = 400
    package static let upsamplerTilePad = 40

    /// Loads every model found in `files` by its official file name. A missing or broken file is
    /// recorded in `problems` instead of failing, so the caller can serve what works.
    ///
    /// - Parameters:
    ///   - overrides: files to use instead of the official names (e.g. `--codeformer PATH`); a
    ///     `.json` file is a synthetic-weights manifest (tests and benchmarks).
    ///   - precision: the arithmetic of each network (by default the upsampler's is bfloat16).
    package static func load(from files: ModelFiles, detector choice: DetectorChoice = .automatic,
                            overrides: [ModelFiles.Model: URL] = [:], precision setting: PrecisionSetting = .mixed) -> FaceRestorationModels {
        let precision = setting.faceNetworks
        var problems: [ModelFiles.Model: String] = [:]
        func load<T>(_ model: ModelFiles.Model, file: (URL) throws -> T, manifest: (URL) throws -> T) -> T? {
            do {
                if let url = overrides[model] {
                    guard FileManager.default.fileExists(atPath: url.path) else {
                        throw RestorationError.modelFileUnreadable(path: url.path, reason: "no such file")
                    }
                    return try url.pathExtension.lowercased() == "json" ? manifest(url) : file(url)
                }
                let url = try files.require(model)
                // A digest recorded by `facerestore models download` is checked on every load.
                try ModelChecksums(files: files).verify(url)
                return try file(url)
            } catch {
                problems[model] = "\(error)"
                return nil
            }
        }
        let codeformer = load(.codeformer, file: { try CodeFormer(contentsOf: $0, precision: precision) },
                              manifest: { try CodeFormer(syntheticManifest: $0, precision: precision) })
        let detectorModel: ModelFiles.Model = switch choice {
        case .automatic:
            overrides[.detectionMobileNet] != nil
                || (overrides[.detectionResNet50] == nil && files.locate(.detectionResNet50) == nil && files.locate(.detectionMobileNet) != nil)
                ? .detectionMobileNet : .detectionResNet50
        case .resnet50: .detectionResNet50
        case .mobilenet: .detectionMobileNet
        }
        let algorithm = precision.convolutionAlgorithm()
        let detector = load(detectorModel, file: { try RetinaFace(contentsOf: $0, algorithm: algorithm) },
                            manifest: { try RetinaFace(syntheticManifest: $0, algorithm: algorithm) })
        let parserAlgorithm = ParseNet.convolutionAlgorithm(for: precision)
        let parser = load(.parsing, file: { try ParseNet(contentsOf: $0, algorithm: parserAlgorithm) },
                          manifest: { try ParseNet(syntheticManifest: $0, algorithm: parserAlgorithm) })
        func upsampler(_ network: RRDBNet) -> RealESRGANer {
            RealESRGANer(network: network, tile: upsamplerTile, tilePad: upsamplerTilePad, prePad: 0)
        }
        let upsamplerAlgorithm = RRDBNet.convolutionAlgorithm(for: setting.upsampler)
        let realesrgan = load(.realesrganX2plus, file: { upsampler(try RRDBNet(contentsOf: $0, algorithm: upsamplerAlgorithm)) },
                              manifest: { upsampler(try RRDBNet(syntheticManifest: $0, algorithm: upsamplerAlgorithm)) })
        return FaceRestorationModels(codeformer: codeformer, detector: detector, parser: parser, upsampler: realesrgan,
                                     files: files, problems: problems, detectorModel: detectorModel)
    }

    /// The detector file this set uses or would use.
    package let detectorModel: ModelFiles.Model
}
