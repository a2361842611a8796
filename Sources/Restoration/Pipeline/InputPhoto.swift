package import Imaging

/// A decoded photo prepared the way the official demo reads it (`cv2.imread(IMREAD_COLOR)` then
/// `FaceRestoreHelper.read_image`): 8-bit BGR (16-bit truncated to the high byte, grey replicated,
/// alpha dropped), upscaled so the short side is at least 512. Our addition: the alpha plane is kept
/// to be re-attached to the result.
package struct InputPhoto: Sendable {
    /// The helper's `input_img`: 8-bit BGR, short side >= 512.
    package let bgr: Image
    /// The file's alpha plane at file size, if it had one.
    package let alpha: Image?
    /// Size of the decoded file, which the demo's large-image rules look at.
    package let fileWidth: Int
    package let fileHeight: Int
    /// `is_gray` of the file's BGR pixels (before the upscale).
    package let isGray: Bool

    /// The official demo's minimum short side.
    package static let minimumShortSide = 512
    /// `is_gray` threshold of the whole-image path (the fixtures' reference used 10; the aligned path
    /// uses 5).
    package static let grayThreshold = 10.0

    package init(_ image: Image) {
        let (color, alpha) = image.splitAlpha()
        let file = color.openCVColor()
        self.alpha = alpha
        fileWidth = image.width
        fileHeight = image.height
        isGray = Grayscale.isGray(bgr: file.pixels8, threshold: Self.grayThreshold)
        if let f = Self.enlargement(width: file.width, height: file.height) {
            bgr = file.resized(fx: f, fy: f, interpolation: .linear)
        } else {
            bgr = file
        }
    }

    /// The factor `read_image` enlarges a `width × height` file by, or nil when its short side is
    /// already `minimumShortSide` or more.
    static func enlargement(width: Int, height: Int) -> Double? {
        let shortSide = min(width, height)
        return (1..<minimumShortSide).contains(shortSide) ? Double(minimumShortSide) / Double(shortSide) : nil
    }

    /// The size of `bgr` for a `width × height` file.
    package static func enlargedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        guard let f = enlargement(width: width, height: height) else { return (width, height) }
        return Resize.scaledSize(width: width, height: height, fx: f, fy: f)
    }
}
