import Foundation
import TensorCore

/// The soft face mask CodeFormer's paste-back derives from ParseNet's output
/// (`FaceRestoreHelper.paste_faces_to_input_image` with `use_parse=True` in sczhou/CodeFormer
/// `facelib/utils/face_restoration_helper.py`).
extension ParseNet {
    /// `MASK_COLORMAP`: 255 for the labels kept as face, 0 for background (0), neck (14), cloth (16),
    /// hair (17) and hat (18).
    public static let maskColormap: [Double] = [0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0]
    /// `cv2.GaussianBlur(mask, (101, 101), 11)`, applied twice.
    public static let maskBlurKernelSize = 101
    public static let maskBlurSigma = 11.0
    /// Rows/columns zeroed at every side after the blur (`thres`).
    public static let maskFrame = 10

    /// Per-pixel label = the first channel with the largest logit (`logits.argmax(dim=1)`), for a
    /// `(1, C, H, W)` tensor; row-major `H * W`.
    public static func labels(fromLogits logits: Tensor) -> [Int32] {
        precondition(logits.rank == 4 && logits.shape[0] == 1, "labels expect (1, c, h, w) logits, got \(logits.shape)")
        let x = logits.contiguous()
        let (channels, plane) = (x.shape[1], x.shape[2] * x.shape[3])
        var labels = [Int32](repeating: 0, count: plane)
        labels.withUnsafeMutableBufferPointer { out in
            let out = UncheckedPointer(out.baseAddress!)
            parallelForChunks(plane, chunk: 4096) { range in
                for i in range {
                    var (best, bestValue) = (0, x.data[i])
                    for ch in 1..<channels where x.data[ch * plane + i] > bestValue {
                        (best, bestValue) = (ch, x.data[ch * plane + i])
                    }
                    out.pointer[i] = Int32(best)
                }
            }
        }
        return labels
    }

    /// The face mask in [0, 1], computed in Float64 as the reference does: labels -> {0, 255}
    /// (`maskColormap`), Gaussian blur (101 x 101, sigma 11, `BORDER_REFLECT_101`) twice, a 10-pixel
    /// frame set to 0, divided by 255. Row-major `height * width`; the array paste-back resizes to
    /// the face size.
    public static func faceMask(labels: [Int32], height: Int, width: Int) -> [Double] {
        precondition(labels.count == height * width, "\(labels.count) labels for \(width)x\(height)")
        var mask = labels.map { label -> Double in
            let index = Int(label)
            return index >= 0 && index < maskColormap.count ? maskColormap[index] : 0
        }
        let kernel = gaussianKernel(size: maskBlurKernelSize, sigma: maskBlurSigma)
        mask = gaussianBlurred(mask, height: height, width: width, kernel: kernel)
        mask = gaussianBlurred(mask, height: height, width: width, kernel: kernel)
        let frame = maskFrame
        for y in 0..<height {
            for x in 0..<width where y < frame || y >= height - frame || x < frame || x >= width - frame {
                mask[y * width + x] = 0
            }
        }
        return mask.map { $0 / 255 }
    }

    /// `cv2.getGaussianKernel(size, sigma, CV_64F)`: `exp(-(i - (size-1)/2)^2 / (2 sigma^2))`,
    /// normalised to sum 1.
    static func gaussianKernel(size: Int, sigma: Double) -> [Double] {
        let center = Double(size - 1) / 2
        let raw = (0..<size).map { i -> Double in
            let d = Double(i) - center
            return exp(-(d * d) / (2 * sigma * sigma))
        }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }

    /// OpenCV's `BORDER_REFLECT_101` index (`gfedcb|abcdefgh|gfedcba`), also for radii beyond the side.
    static func reflect101(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }

    /// Separable filtering (rows, then columns) with the same kernel on both axes, Float64.
    static func gaussianBlurred(_ image: [Double], height: Int, width: Int, kernel: [Double]) -> [Double] {
        let radius = kernel.count / 2
        var rows = [Double](repeating: 0, count: image.count)
        image.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (UncheckedPointer(UnsafeMutablePointer(mutating: src.baseAddress!)), UncheckedPointer(dst.baseAddress!))
                let columns = (-radius...(width - 1 + radius)).map { reflect101($0, width) }
                parallelFor(height) { y in
                    let row = src.pointer + y * width
                    for x in 0..<width {
                        var sum = 0.0
                        for k in 0..<kernel.count { sum += kernel[k] * row[columns[x + k]] }
                        dst.pointer[y * width + x] = sum
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: image.count)
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (UncheckedPointer(UnsafeMutablePointer(mutating: src.baseAddress!)), UncheckedPointer(dst.baseAddress!))
                let lines = (-radius...(height - 1 + radius)).map { reflect101($0, height) }
                parallelFor(height) { y in
                    let target = dst.pointer + y * width
                    for x in 0..<width { target[x] = 0 }
                    for k in 0..<kernel.count {
                        let source = src.pointer + lines[y + k] * width
                        let weight = kernel[k]
                        for x in 0..<width { target[x] += weight * source[x] }
                    }
                }
            }
        }
        return out
    }
}

/// A raw pointer handed to `parallelFor` workers that write disjoint ranges.
struct UncheckedPointer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
}
