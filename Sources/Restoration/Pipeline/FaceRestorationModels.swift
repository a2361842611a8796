package import Foundation
package import ModelCatalog
package import Networks
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
    ///   - overrides: files to use instead of the official names (e.g. `--codeformer PATH`; a
    ///     synthetic-weights manifest works too, see `WeightsFile`). Every file goes through
    ///     `NetworkLoader`, which checks it against the folder's SHA-256 record.
    ///   - precision: the arithmetic of each network (by default the upsampler's is bfloat16).
    package static func load(from files: ModelFiles, detector choice: DetectorChoice = .automatic,
                            overrides: [ModelFiles.Model: URL] = [:], precision setting: PrecisionSetting = .mixed) -> FaceRestorationModels {
        let loader = NetworkLoader(files: files)
        var problems: [ModelFiles.Model: String] = [:]
        func load<N: LoadableNetwork>(_ model: ModelFiles.Model, as network: N.Type, precision: ComputePrecision) -> N? {
            do {
                let url: URL
                if let override = overrides[model] {
                    guard FileManager.default.fileExists(atPath: override.path) else {
                        throw RestorationError.modelFileUnreadable(path: override.path, reason: "no such file")
                    }
                    url = override
                } else {
                    url = try files.require(model)
                }
                return try loader.load(N.self, from: url, precision: precision)
            } catch {
                problems[model] = "\(error)"
                return nil
            }
        }
        let codeformer = load(.codeformer, as: CodeFormer.self, precision: setting.faceNetworks)
        let detectorModel: ModelFiles.Model = switch choice {
        case .automatic:
            overrides[.detectionMobileNet] != nil
                || (overrides[.detectionResNet50] == nil && files.locate(.detectionResNet50) == nil && files.locate(.detectionMobileNet) != nil)
                ? .detectionMobileNet : .detectionResNet50
        case .resnet50: .detectionResNet50
        case .mobilenet: .detectionMobileNet
        }
        let detector = load(detectorModel, as: RetinaFace.self, precision: setting.faceNetworks)
        let parser = load(.parsing, as: ParseNet.self, precision: setting.faceNetworks)
        let realesrgan = load(.realesrganX2plus, as: RRDBNet.self, precision: setting.upsampler).map {
            RealESRGANer(network: $0, tile: upsamplerTile, tilePad: upsamplerTilePad, prePad: 0)
        }
        return FaceRestorationModels(codeformer: codeformer, detector: detector, parser: parser, upsampler: realesrgan,
                                     files: files, problems: problems, detectorModel: detectorModel)
    }

    /// The detector file this set uses or would use.
    package let detectorModel: ModelFiles.Model
}
