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
}
