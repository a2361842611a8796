/// The reference's handling of grey photos (`facelib/utils/misc.py`): detect them, and turn the
/// (colourful) restored face back to grey.
package enum Grayscale {
    /// `is_gray`: the mean over the three channel pairs of the variance of their int16 differences
    /// is at most `threshold` (the demo and CLI pass 5 for aligned inputs).
    package static func isGray(bgr pixels: [UInt8], threshold: Double = 5) -> Bool {
        let count = pixels.count / 3
        guard count > 0 else { return true }
        func variance(_ a: Int, _ b: Int) -> Double {
            var sum = 0.0, squares = 0.0
            for i in 0..<count {
                let d = Double(Int(pixels[3 * i + a]) - Int(pixels[3 * i + b]))
                sum += d
                squares += d * d
            }
            let mean = sum / Double(count)
            return squares / Double(count) - mean * mean
        }
        // PIL channel order of the RGB array the reference builds: it passes the BGR array as is.
        let diff = (variance(0, 1) + variance(1, 2) + variance(2, 0)) / 3
        return diff <= threshold
    }

    /// `bgr2gray` as the whole-photo helper keeps it: 0.2989 R + 0.5870 G + 0.1140 B in Float64,
    /// replicated to three channels, not rounded.
    package static func grayBGRValues(_ pixels: [UInt8]) -> [Double] {
        var out = [Double](repeating: 0, count: pixels.count)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            let g = 0.2989 * Double(pixels[i + 2]) + 0.5870 * Double(pixels[i + 1]) + 0.1140 * Double(pixels[i])
            out[i] = g; out[i + 1] = g; out[i + 2] = g
        }
        return out
    }

    /// `bgr2gray` (0.2989 R + 0.5870 G + 0.1140 B in float64) replicated to three channels, then
    /// written as 8-bit the way `cv2.imwrite` converts floats: round to nearest, saturate.
    package static func grayBGR(_ pixels: [UInt8]) -> [UInt8] {
        grayBGRValues(pixels).map { UInt8(min(max($0.rounded(.toNearestOrEven), 0), 255)) }
    }
}
