import Foundation

/// OpenCV's `resizeGeneric_`: a horizontal pass over each needed source row, then a vertical blend
/// of `taps` horizontally-resized rows. Coefficients follow OpenCV bit for bit: positions in double
/// rounded to float, float weights, and for uint8 11-bit fixed-point weights with OpenCV's shifts.
enum SeparableResize {
    enum Kernel { case linear, areaBilinear, lanczos4 }

    /// Per output coordinate along one axis: `taps` source indices (already clamped) and weights.
    struct Axis {
        let taps: Int
        var index: [Int]
        var weight: [Float]
        var fixed: [Int32]
    }

    static let fixedOne: Float = 2048

    static func axis(kernel: Kernel, sourceLength n: Int, destinationLength m: Int,
                     scale: Double, invScale: Double, clampPosition: Bool) -> Axis {
        let taps = kernel == .lanczos4 ? 8 : 2
        var axis = Axis(taps: taps, index: [], weight: [], fixed: [])
        axis.index.reserveCapacity(m * taps)
        axis.weight.reserveCapacity(m * taps)
        var coefficients = [Float](repeating: 0, count: taps)
        for d in 0..<m {
            var s: Int, f: Float
            switch kernel {
            case .linear, .lanczos4:
                f = Float((Double(d) + 0.5) * scale - 0.5)
                s = Int(f.rounded(.down))
                f -= Float(s)
            case .areaBilinear:
                s = Int((Double(d) * scale).rounded(.down))
                f = Float(Double(d + 1) - Double(s + 1) * invScale)
                f = f <= 0 ? 0 : f - f.rounded(.down)
            }
            if kernel != .lanczos4 && clampPosition {
                if s < 0 { f = 0; s = 0 }
                if s >= n - 1 { f = 0; s = n - 1 }
            }
            if kernel == .lanczos4 {
                lanczos4(f, &coefficients)
                for k in 0..<8 { axis.index.append(min(max(s - 3 + k, 0), n - 1)) }
            } else {
                coefficients[0] = 1 - f
                coefficients[1] = f
                axis.index.append(min(max(s, 0), n - 1))
                axis.index.append(min(max(s + 1, 0), n - 1))
            }
            axis.weight.append(contentsOf: coefficients)
        }
        axis.fixed = axis.weight.map { Int32(($0 * fixedOne).rounded(.toNearestOrEven)) }
        return axis
    }

    /// OpenCV's `interpolateLanczos4`: sin/cos evaluated once in double and rotated by 45° per tap,
    /// each weight rounded to float, normalised by the float reciprocal of the float sum.
    static func lanczos4(_ x: Float, _ coefficients: inout [Float]) {
        let s45 = 0.70710678118654752440084436210485
        let cs: [(Double, Double)] = [(1, 0), (-s45, -s45), (0, 1), (s45, -s45), (-1, 0), (s45, s45), (0, -1), (-s45, s45)]
        let y0 = Double(-(x + 3)) * Double.pi * 0.25
        let s0 = Foundation.sin(y0), c0 = Foundation.cos(y0)
        var sum: Float = 0
        for i in 0..<8 {
            let t = x + 3 - Float(i)
            if abs(t) >= 1e-6 {
                let y = Double(-t) * Double.pi * 0.25
                coefficients[i] = Float((cs[i].0 * s0 + cs[i].1 * c0) / (y * y))
            } else {
                coefficients[i] = 1e30
            }
            sum += coefficients[i]
        }
        let reciprocal = 1 / sum
        for i in 0..<8 { coefficients[i] *= reciprocal }
    }

    static func run<T: ResizableSample>(_ src: [T], _ g: ResizeGeometry, kernel: Kernel) -> [T] {
        let xs = axis(kernel: kernel, sourceLength: g.srcWidth, destinationLength: g.dstWidth,
                      scale: g.scaleX, invScale: g.invScaleX, clampPosition: true)
        // Rows: OpenCV keeps the unclamped position and weights; only the row indices are clamped.
        let ys = axis(kernel: kernel, sourceLength: g.srcHeight, destinationLength: g.dstHeight,
                      scale: g.scaleY, invScale: g.invScaleY, clampPosition: false)
        return T.usesFixedPoint
            ? runFixed(src, g, xs, ys, lanczos: kernel == .lanczos4)
            : runFloat(src, g, xs, ys)
    }

    /// uint8: integer horizontal sums with 11-bit weights; vertical combine as OpenCV's
    /// `VResizeLinear` specialisation (linear) or `FixedPtCast<…, 22>` (Lanczos).
    private static func runFixed<T: ResizableSample>(_ src: [T], _ g: ResizeGeometry, _ xs: Axis, _ ys: Axis, lanczos: Bool) -> [T] {
        let cn = g.channels, rowLength = g.dstWidth * cn, taps = ys.taps
        var dst = [T](repeating: T(clampingInteger: 0), count: g.dstHeight * rowLength)
        var cache = [Int32](repeating: 0, count: taps * rowLength)
        var cachedRow = [Int](repeating: -1, count: taps)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                cache.withUnsafeMutableBufferPointer { rows in
                    xs.index.withUnsafeBufferPointer { xi in
                        xs.fixed.withUnsafeBufferPointer { xw in
                            var slots = [Int](repeating: 0, count: taps)
                            for dy in 0..<g.dstHeight {
                                for k in 0..<taps {
                                    let sy = ys.index[dy * taps + k]
                                    let slot = sy % taps
                                    slots[k] = slot * rowLength
                                    if cachedRow[slot] == sy { continue }
                                    cachedRow[slot] = sy
                                    let srcRow = sy * g.srcWidth * cn, out = slot * rowLength
                                    for dx in 0..<g.dstWidth {
                                        let t0 = dx * xs.taps
                                        for c in 0..<cn {
                                            var acc: Int32 = 0
                                            for t in 0..<xs.taps {
                                                acc &+= s[srcRow + xi[t0 + t] * cn + c].integer &* xw[t0 + t]
                                            }
                                            rows[out + dx * cn + c] = acc
                                        }
                                    }
                                }
                                let out = dy * rowLength
                                if lanczos {
                                    for i in 0..<rowLength {
                                        var acc: Int32 = 0
                                        for k in 0..<taps { acc &+= rows[slots[k] + i] &* ys.fixed[dy * taps + k] }
                                        d[out + i] = T(clampingInteger: (acc &+ (1 << 21)) >> 22)
                                    }
                                } else {
                                    let b0 = ys.fixed[dy * 2], b1 = ys.fixed[dy * 2 + 1]
                                    let r0 = slots[0], r1 = slots[1]
                                    for i in 0..<rowLength {
                                        let v = ((b0 &* (rows[r0 + i] >> 4)) >> 16) &+ ((b1 &* (rows[r1 + i] >> 4)) >> 16) &+ 2
                                        d[out + i] = T(clampingInteger: v >> 2)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dst
    }

    /// uint16 / float: float weights and sums, stored with `saturate_cast`.
    private static func runFloat<T: ResizableSample>(_ src: [T], _ g: ResizeGeometry, _ xs: Axis, _ ys: Axis) -> [T] {
        let cn = g.channels, rowLength = g.dstWidth * cn, taps = ys.taps
        var dst = [T](repeating: T(clampingInteger: 0), count: g.dstHeight * rowLength)
        var cache = [Float](repeating: 0, count: taps * rowLength)
        var cachedRow = [Int](repeating: -1, count: taps)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                cache.withUnsafeMutableBufferPointer { rows in
                    var slots = [Int](repeating: 0, count: taps)
                    for dy in 0..<g.dstHeight {
                        for k in 0..<taps {
                            let sy = ys.index[dy * taps + k]
                            let slot = sy % taps
                            slots[k] = slot * rowLength
                            if cachedRow[slot] == sy { continue }
                            cachedRow[slot] = sy
                            let srcRow = sy * g.srcWidth * cn, out = slot * rowLength
                            for dx in 0..<g.dstWidth {
                                let t0 = dx * xs.taps
                                for c in 0..<cn {
                                    var acc = s[srcRow + xs.index[t0] * cn + c].work * xs.weight[t0]
                                    for t in 1..<xs.taps { acc += s[srcRow + xs.index[t0 + t] * cn + c].work * xs.weight[t0 + t] }
                                    rows[out + dx * cn + c] = acc
                                }
                            }
                        }
                        let out = dy * rowLength
                        for i in 0..<rowLength {
                            var acc = rows[slots[0] + i] * ys.weight[dy * taps]
                            for k in 1..<taps { acc += rows[slots[k] + i] * ys.weight[dy * taps + k] }
                            d[out + i] = T(saturating: acc)
                        }
                    }
                }
            }
        }
        return dst
    }
}
