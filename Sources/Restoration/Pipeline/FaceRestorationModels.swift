import Foundation
import Networks

/// The networks a restoration can use, loaded once. Any of them may be missing: a request that
/// needs a missing one fails with `RestorationError.modelMissing`, the others keep working.
public final class FaceRestorationModels: @unchecked Sendable {
    public let codeformer: CodeFormer?
    public let detector: RetinaFace?
    public let parser: ParseNet?
    public let upsampler: RealESRGANer?
    /// Why each missing model is missing (file absent, or failed to load), keyed by model.
    public let problems: [ModelFiles.Model: String]
    /// Where the models came from, for the messages that say how to install a missing one.
    public let files: ModelFiles

    public init(codeformer: CodeFormer?, detector: RetinaFace?, parser: ParseNet?, upsampler: RealESRGANer?,
                files: ModelFiles, problems: [ModelFiles.Model: String] = [:]) {
        self.codeformer = codeformer
        self.detector = detector
        self.parser = parser
        self.upsampler = upsampler
        self.files = files
        self.problems = problems
    }

    /// Which RetinaFace file to use: the demo's ResNet-50, the small MobileNet-0.25, or whichever is
    /// present (ResNet-50 first).
    public enum DetectorChoice: String, Sendable, CaseIterable {
        case automatic, resnet50, mobilenet
    }

    /// The demo's Real-ESRGAN settings for the background and face upsampler: tile 400, tile pad 40,
    /// no pre-pad.
    public static let upsamplerTile = 400
    public static let upsamplerTilePad = 40

    /// Loads every model found in `files` by its official file name. A missing or broken file is
    /// recorded in `problems` instead of failing, so the caller can serve what works.
    public static func load(from files: ModelFiles, detector choice: DetectorChoice = .automatic) -> FaceRestorationModels {
        var problems: [ModelFiles.Model: String] = [:]
        func load<T>(_ model: ModelFiles.Model, _ make: (URL) throws -> T) -> T? {
            do {
                let url = try files.require(model)
                // A digest recorded by `facerestore models download` is checked on every load.
                try ModelChecksums(files: files).verify(url)
                return try make(url)
            } catch {
                problems[model] = "\(error)"
                return nil
            }
        }
        let codeformer = load(.codeformer) { try CodeFormer(contentsOf: $0) }
        let detectorModels: [ModelFiles.Model] = switch choice {
        case .automatic: files.locate(.detectionResNet50) != nil || files.locate(.detectionMobileNet) == nil
            ? [.detectionResNet50] : [.detectionMobileNet]
        case .resnet50: [.detectionResNet50]
        case .mobilenet: [.detectionMobileNet]
        }
        let detector = load(detectorModels[0]) { try RetinaFace(contentsOf: $0) }
        let parser = load(.parsing) { try ParseNet(contentsOf: $0) }
        let upsampler = load(.realesrganX2plus) {
            RealESRGANer(network: try RRDBNet(contentsOf: $0), tile: upsamplerTile, tilePad: upsamplerTilePad, prePad: 0)
        }
        return FaceRestorationModels(codeformer: codeformer, detector: detector, parser: parser, upsampler: upsampler,
                                     files: files, problems: problems)
    }

    /// The detector file this set uses or would use.
    public var detectorModel: ModelFiles.Model {
        detector?.backbone == .mobileNet025 || (detector == nil && problems[.detectionMobileNet] != nil) ? .detectionMobileNet : .detectionResNet50
    }
}
