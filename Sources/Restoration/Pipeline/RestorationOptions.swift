/// What a caller can ask of a whole-photo restoration: the five API parameters plus the official
/// CLI's options. Defaults are the API's (`../shared/API.md`) and the demo's.
package struct RestorationOptions: Sendable, Equatable {
    /// CodeFormer fidelity weight w in [0, 1].
    package var fidelity: Float = 0.5
    /// Final scale of the whole image: 1, 2 or 4.
    package var upscale: Int = 2
    /// Upsample the background with Real-ESRGAN instead of a bilinear resize.
    package var backgroundEnhance = false
    /// Upsample the restored faces with Real-ESRGAN before pasting them back.
    package var faceUpsample = false
    /// Keep only the detected face nearest the image centre.
    package var onlyCenterFace = false
    /// Draw the detected face boxes on the result.
    package var drawBox = false
    /// The input is a cropped, aligned face (`--has_aligned`): no detection, no paste-back.
    package var hasAligned = false
    /// Intersect the paste-back mask with ParseNet's face mask (the demo does).
    package var useParse = true
    /// The demo's large-image rules, on the size of the decoded file.
    package var limits = LargeImageLimits()
    /// At most this many faces are restored, the largest (by detected box area); the rest are left
    /// as they are. nil: all (the official code's behaviour).
    package var maxFaces: Int?

    package init(fidelity: Float = 0.5, upscale: Int = 2, backgroundEnhance: Bool = false, faceUpsample: Bool = false,
                onlyCenterFace: Bool = false, drawBox: Bool = false, hasAligned: Bool = false, useParse: Bool = true,
                limits: LargeImageLimits = LargeImageLimits(), maxFaces: Int? = nil) {
        self.fidelity = fidelity
        self.upscale = upscale
        self.backgroundEnhance = backgroundEnhance
        self.faceUpsample = faceUpsample
        self.onlyCenterFace = onlyCenterFace
        self.drawBox = drawBox
        self.hasAligned = hasAligned
        self.useParse = useParse
        self.limits = limits
        self.maxFaces = maxFaces
    }
}

/// The demo's memory guards (`web-demos/hugging_face/app.py`): upscale above 2 is lowered to 2 when the
/// longer side exceeds `reduceToTwoAbove`; above `reduceToOneAbove` upscale becomes 1 and both
/// Real-ESRGAN options are switched off. `nil` disables a rule. Ours: `maxPixels` refuses a photo
/// when any image the restoration would hold (`WorkingSizes`) has more pixels.
package struct LargeImageLimits: Sendable, Equatable {
    package var reduceToTwoAbove: Int? = 1000
    package var reduceToOneAbove: Int? = 1500
    package var maxPixels: Int?

    package init(reduceToTwoAbove: Int? = 1000, reduceToOneAbove: Int? = 1500, maxPixels: Int? = nil) {
        self.reduceToTwoAbove = reduceToTwoAbove
        self.reduceToOneAbove = reduceToOneAbove
        self.maxPixels = maxPixels
    }
}
