import Foundation
import Imaging
import Networks

/// The official demo's whole-photo path (`inference_codeformer.py` / `app.py`): read, detect with
/// RetinaFace, align each face to the 512 template, restore it with CodeFormer, parse it with
/// ParseNet, paste it back onto the (optionally Real-ESRGAN-upsampled) background.
///
/// Thread safety: one `restore` at a time per pipeline (the networks use all cores already).
public final class FaceRestorationPipeline: @unchecked Sendable {
    public let models: FaceRestorationModels

    public init(models: FaceRestorationModels) {
        self.models = models
    }

    /// Restores `image` (as decoded from a file: grey, RGB or RGBA, 8 or 16 bit, EXIF already applied).
    public func restore(_ image: Image, options: RestorationOptions) throws -> RestorationResult {
        throw RestorationError.notImplemented("whole-photo restoration")
    }
}
