package import Imaging

/// A restored photo and what was done to it.
package struct RestorationResult: Sendable {
    /// The restored photo in file channel order (RGB, or RGBA when the input had alpha), 8-bit.
    package var image: Image
    /// Faces the detector kept (after the eye-distance filter and `onlyCenterFace`).
    package var facesFound: Int
    /// Faces restored and pasted back; less than `facesFound` only when a face failed.
    package var facesRestored: Int
    /// The options actually applied (the large-image limits can lower upscale and switch
    /// Real-ESRGAN off).
    package var applied: RestorationOptions
    /// Per face: the 512x512 aligned crop and the restored face, RGB (the official CLI saves both).
    package var faces: [RestoredFace]
    /// Whether the input was judged grey (`is_gray`) and the faces were turned grey.
    package var inputWasGray: Bool
    /// Seconds per stage (read, detect, align, restore, upsample, paste).
    package var timings: StageTimings

    package init(image: Image, facesFound: Int, facesRestored: Int, applied: RestorationOptions, faces: [RestoredFace],
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
package struct RestoredFace: Sendable {
    package var crop: Image
    package var restored: Image

    package init(crop: Image, restored: Image) {
        self.crop = crop
        self.restored = restored
    }
}
