import Imaging

/// A restored photo and what was done to it.
public struct RestorationResult: Sendable {
    /// The restored photo in file channel order (RGB, or RGBA when the input had alpha), 8-bit.
    public var image: Image
    /// Faces the detector kept (after the eye-distance filter and `onlyCenterFace`).
    public var facesFound: Int
    /// Faces restored and pasted back; less than `facesFound` only when a face failed.
    public var facesRestored: Int
    /// The options actually applied (the large-image limits can lower upscale and switch
    /// Real-ESRGAN off).
    public var applied: RestorationOptions
    /// Per face: the 512x512 aligned crop and the restored face, RGB (the official CLI saves both).
    public var faces: [RestoredFace]
    /// Whether the input was judged grey (`is_gray`) and the faces were turned grey.
    public var inputWasGray: Bool
    /// Seconds per stage (read, detect, align, restore, upsample, paste).
    public var timings: StageTimings

    public init(image: Image, facesFound: Int, facesRestored: Int, applied: RestorationOptions, faces: [RestoredFace],
                inputWasGray: Bool, timings: StageTimings = StageTimings()) {
        self.timings = timings
        self.image = image
        self.facesFound = facesFound
        self.facesRestored = facesRestored
        self.applied = applied
        self.faces = faces
        self.inputWasGray = inputWasGray
    }
}

/// One face of a photo: the aligned crop fed to CodeFormer and CodeFormer's output, both RGB 512x512.
public struct RestoredFace: Sendable {
    public var crop: Image
    public var restored: Image

    public init(crop: Image, restored: Image) {
        self.crop = crop
        self.restored = restored
    }
}
