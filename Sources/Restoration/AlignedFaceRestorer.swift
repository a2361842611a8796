package import Imaging
package import Networks

/// Restores faces that are already cropped and aligned, as the official CLI does with
/// `--has_aligned`: resize to 512x512 (bilinear), detect grey input, CodeFormer with adain, back to
/// 8-bit; grey inputs come back grey. Our addition: an alpha channel is resized along and re-attached.
package final class AlignedFaceRestorer: @unchecked Sendable {
    package let codeformer: CodeFormer
    /// The official aligned path's `is_gray` threshold.
    package static let grayThreshold = 5.0

    package init(codeformer: CodeFormer) {
        self.codeformer = codeformer
    }

    package struct Result: Sendable {
        /// 512x512, RGB (RGBA when the input had alpha), 8-bit.
        package let image: Image
        package let inputWasGray: Bool
    }

    /// Throws `ComputeError` when the network cannot run (out of memory).
    package func restore(_ input: Image, fidelity: Float) throws -> Result {
        let size = CodeFormerConfiguration.imageSize
        let (color, alpha) = input.splitAlpha()
        var bgr = color.openCVColor()
        if bgr.width != size || bgr.height != size {
            bgr = bgr.resized(width: size, height: size, interpolation: .linear)
        }
        let isGray = Grayscale.isGray(bgr: bgr.pixels8, threshold: Self.grayThreshold)
        let output = try codeformer(FaceTensor.tensor(fromBGR: bgr.pixels8, width: size, height: size), w: fidelity, adain: true)
        var restored = try FaceTensor.bgr(from: output.image)
        if isGray { restored = Grayscale.grayBGR(restored) }
        var image = Image(width: size, height: size, channels: 3, pixels8: restored).swappingRedBlue()
        if let alpha {
            let resized = alpha.to8Bit().resized(width: size, height: size, interpolation: .linear)
            image = (try? image.attachingAlpha(resized)) ?? image
        }
        return Result(image: image, inputWasGray: isGray)
    }
}
