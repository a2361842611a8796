import Foundation
import TensorCore

/// OpenCV's `erode` and `GaussianBlur` on single-channel floating-point planes (row-major), the
/// semantics paste-back's masks depend on.
package enum PlaneFilters {
    /// `cv2.erode(plane, np.ones((size, size)))`: the minimum over a `size x size` window anchored at
    /// `(size / 2, size / 2)` (so even windows reach one pixel further up/left than down/right);
    /// pixels outside the plane are ignored (OpenCV's default border for erosion). A size of 0 is
    /// OpenCV's empty kernel, which it replaces by 3 x 3.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    package static func eroded<T: BinaryFloatingPoint & Sendable>(_ plane: [T], width: Int, height: Int, size: Int) -> [T] {
        let k = size <= 0 ? 3 : size
        let anchor = k / 2
        if k == 1 { return plane }
        var rows = [T](repeating: 0, count: plane.count)
        plane.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (SharedPointer(reading: src.baseAddress!), SharedPointer(dst.baseAddress!))
                parallelForChunks(height, chunk: 16) { range in
                    for y in range {
                        let row = src.pointer + y * width, out = dst.pointer + y * width
                        for x in 0..<width {
                            var m = row[x]
                            for xx in max(0, x - anchor)...min(width - 1, x - anchor + k - 1) where row[xx] < m { m = row[xx] }
                            out[x] = m
                        }
                    }
                }
            }
        }
        var out = [T](repeating: 0, count: plane.count)
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (SharedPointer(reading: src.baseAddress!), SharedPointer(dst.baseAddress!))
                parallelForChunks(height, chunk: 16) { range in
                    for y in range {
                        let out = dst.pointer + y * width
                        let first = max(0, y - anchor), last = min(height - 1, y - anchor + k - 1)
                        for x in 0..<width { out[x] = src.pointer[first * width + x] }
                        if first < last {
                            for yy in (first + 1)...last {
                                let row = src.pointer + yy * width
                                for x in 0..<width where row[x] < out[x] { out[x] = row[x] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `cv2.getGaussianKernel(size, sigma)` in the plane's type: OpenCV's fixed kernels for odd sizes
    /// up to 7 when `sigma <= 0`; otherwise `exp(-x^2 / (2 sigma^2))` normalised, computed in Float64,
    /// with `sigma = 0.3 ((size - 1) / 2 - 1) + 0.8` when not given.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    package static func gaussianKernel<T: BinaryFloatingPoint>(size: Int, sigma: Double) -> [T] {
        let fixed: [[Double]] = [[1], [0.25, 0.5, 0.25], [0.0625, 0.25, 0.375, 0.25, 0.0625],
                                 [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]]
        if size % 2 == 1 && size <= 7 && sigma <= 0 { return fixed[size / 2].map { T($0) } }
        let s = sigma > 0 ? sigma : ((Double(size) - 1) * 0.5 - 1) * 0.3 + 0.8
        let scale = -0.5 / (s * s)
        let raw = (0..<size).map { i -> Double in
            let x = Double(i) - Double(size - 1) * 0.5
            return exp(scale * x * x)
        }
        let sum = raw.reduce(0, +)
        return raw.map { T($0 / sum) }
    }

    /// OpenCV's `BORDER_REFLECT_101` index (`gfedcb|abcdefgh|gfedcba`), for any distance outside.
    package static func reflect101(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }

    /// `cv2.GaussianBlur(plane, (size, size), sigma)` with `BORDER_REFLECT_101`, in the plane's type:
    /// rows first (taps summed in order), then columns (centre tap first, then symmetric pairs, as
    /// OpenCV's symmetric column filter does).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    package static func gaussianBlurred<T: BinaryFloatingPoint & Sendable>(_ plane: [T], width: Int, height: Int, size: Int, sigma: Double) -> [T] {
        let kernel: [T] = gaussianKernel(size: size, sigma: sigma)
        let radius = size / 2
        // OpenCV's SIMD float32 filters accumulate with fused multiply-adds; its float64 ones do not.
        let fused = T.self == Float.self
        var rows = [T](repeating: 0, count: plane.count)
        let columns = (-radius..<(width + radius)).map { reflect101($0, width) }
        plane.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (SharedPointer(reading: src.baseAddress!), SharedPointer(dst.baseAddress!))
                parallelForChunks(height, chunk: 8) { range in
                    for y in range {
                        let row = src.pointer + y * width, out = dst.pointer + y * width
                        for x in 0..<width {
                            var sum: T = kernel[0] * row[columns[x]]
                            if fused {
                                for k in 1..<max(size, 1) { sum = sum.addingProduct(kernel[k], row[columns[x + k]]) }
                            } else {
                                for k in 1..<max(size, 1) { sum += kernel[k] * row[columns[x + k]] }
                            }
                            out[x] = sum
                        }
                    }
                }
            }
        }
        var out = [T](repeating: 0, count: plane.count)
        let lines = (-radius..<(height + radius)).map { reflect101($0, height) }
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (src, dst) = (SharedPointer(reading: src.baseAddress!), SharedPointer(dst.baseAddress!))
                parallelForChunks(height, chunk: 8) { range in
                    for y in range {
                        let target = dst.pointer + y * width
                        let center = src.pointer + lines[y + radius] * width
                        for x in 0..<width { target[x] = kernel[radius] * center[x] }
                        if radius > 0 {
                            for k in 1...radius {
                                let above = src.pointer + lines[y + radius - k] * width
                                let below = src.pointer + lines[y + radius + k] * width
                                let weight = kernel[radius + k]
                                if fused {
                                    for x in 0..<width { target[x] = target[x].addingProduct(weight, below[x] + above[x]) }
                                } else {
                                    for x in 0..<width { target[x] += weight * (below[x] + above[x]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
