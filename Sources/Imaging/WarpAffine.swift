import TensorCore

/// `cv2.warpAffine` with bilinear interpolation and a constant border, bit-exact with OpenCV:
/// the inverse map is evaluated in 1/32-pixel fixed point (`AB_BITS` 10, `INTER_BITS` 5), the four
/// weights are Float32 products of `(1 - t/32, t/32)`, and 8-bit images blend with 15-bit integer
/// weights. Source neighbours outside the image take the border value; destination pixels whose
/// whole neighbourhood is outside get the border value itself.
package enum WarpAffine {
    /// `M` is the forward map (source -> destination), as `warpAffine` takes it.
    struct Geometry {
        let inverse: [Double]
        let width: Int
        let height: Int
        let sourceWidth: Int
        let sourceHeight: Int
        /// Per destination column: `rint(i00 * x * 1024)` and `rint(i10 * x * 1024)`.
        let columnX: [Int]
        let columnY: [Int]

        /// Destination pixel of output (0, 0): the output may be a window of the full destination.
        let origin: (x: Int, y: Int)

        init(_ transform: AffineMatrix, width: Int, height: Int, sourceWidth: Int, sourceHeight: Int, origin: (x: Int, y: Int) = (0, 0)) {
            self.origin = origin
            let m = transform.m
            var d = m[0] * m[4] - m[1] * m[3]
            d = d != 0 ? 1 / d : 0
            let a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d
            let inverse = [a11, a12, -a11 * m[2] - a12 * m[5], a21, a22, -a21 * m[2] - a22 * m[5]]
            self.inverse = inverse
            (self.width, self.height, self.sourceWidth, self.sourceHeight) = (width, height, sourceWidth, sourceHeight)
            columnX = (origin.x..<(origin.x + width)).map { Int((inverse[0] * Double($0) * 1024).rounded(.toNearestOrEven)) }
            columnY = (origin.x..<(origin.x + width)).map { Int((inverse[3] * Double($0) * 1024).rounded(.toNearestOrEven)) }
        }

        /// Source pixel (x, y) and the 1/32 fractions for destination column `x` of row `y`.
        @inline(__always)
        func source(rowX: Int, rowY: Int, column x: Int) -> (x: Int, y: Int, fx: Int, fy: Int) {
            let sx = (rowX + columnX[x]) >> 5, sy = (rowY + columnY[x]) >> 5
            return (sx >> 5, sy >> 5, sx & 31, sy & 31)
        }

        func row(_ y: Int) -> (x: Int, y: Int) {
            let y = y + origin.y
            return (Int(((inverse[1] * Double(y) + inverse[2]) * 1024).rounded(.toNearestOrEven)) + 16,
             Int(((inverse[4] * Double(y) + inverse[5]) * 1024).rounded(.toNearestOrEven)) + 16)
        }
    }

    /// `initInterTab2D(INTER_LINEAR)`: per fraction pair `(fy * 32 + fx)` the Float32 weights.
    static let floatWeights: [[Float]] = (0..<(32 * 32)).map { index in
        let fx = Float(index % 32) / 32, fy = Float(index / 32) / 32
        return [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]
    }
    /// The same as 15-bit integers (`INTER_REMAP_COEF_SCALE` 32768).
    static let integerWeights: [[Int]] = floatWeights.map { $0.map { Int(($0 * 32768).rounded(.toNearestOrEven)) } }

    /// Rows split over the cores.
    static func forEachRow(_ height: Int, _ body: (Int) -> Void) {
        parallelForChunks(height, chunk: 8) { rows in for y in rows { body(y) } }
    }

    /// The four neighbours' values for one channel, border value outside.
    @inline(__always)
    static func neighbours<T>(_ src: UnsafeBufferPointer<T>, _ g: Geometry, channels: Int, x: Int, y: Int, channel: Int, border: T) -> (T, T, T, T) {
        let (w, h) = (g.sourceWidth, g.sourceHeight)
        func at(_ xx: Int, _ yy: Int) -> T {
            xx >= 0 && xx < w && yy >= 0 && yy < h ? src[(yy * w + xx) * channels + channel] : border
        }
        return (at(x, y), at(x + 1, y), at(x, y + 1), at(x + 1, y + 1))
    }

    @inline(__always)
    static func fullyOutside(_ g: Geometry, x: Int, y: Int) -> Bool {
        x >= g.sourceWidth || x + 1 < 0 || y >= g.sourceHeight || y + 1 < 0
    }

    /// 8-bit interleaved samples (any channel count) warped to `width x height`; with `origin`, the
    /// output is the window of that size at `origin` of the full destination (same values).
    package static func warp(_ src: [UInt8], width sourceWidth: Int, height sourceHeight: Int, channels: Int,
                            transform: AffineMatrix, toWidth width: Int, toHeight height: Int, origin: (x: Int, y: Int) = (0, 0),
                            border: [UInt8]) -> [UInt8] {
        precondition(src.count == sourceWidth * sourceHeight * channels && border.count == channels, "warp input does not match its size")
        let g = Geometry(transform, width: width, height: height, sourceWidth: sourceWidth, sourceHeight: sourceHeight, origin: origin)
        var out = [UInt8](repeating: 0, count: width * height * channels)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                let o = SharedPointer(o.baseAddress!)
                forEachRow(height) { y in
                    let r = g.row(y)
                    for x in 0..<width {
                        let p = g.source(rowX: r.x, rowY: r.y, column: x)
                        let target = o.pointer + (y * width + x) * channels
                        if fullyOutside(g, x: p.x, y: p.y) {
                            for c in 0..<channels { target[c] = border[c] }
                            continue
                        }
                        let w = integerWeights[p.fy * 32 + p.fx]
                        for c in 0..<channels {
                            let v = neighbours(s, g, channels: channels, x: p.x, y: p.y, channel: c, border: border[c])
                            let sum = Int(v.0) * w[0] + Int(v.1) * w[1] + Int(v.2) * w[2] + Int(v.3) * w[3]
                            target[c] = UInt8(clamping: (sum + 16384) >> 15)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Float32 or Float64 interleaved samples: each output is `w0 p0 + w1 p1 + w2 p2 + w3 p3` in the
    /// samples' own type, with the Float32 weights.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    package static func warp<T: BinaryFloatingPoint & Sendable>(
        _ src: [T], width sourceWidth: Int, height sourceHeight: Int, channels: Int,
        transform: AffineMatrix, toWidth width: Int, toHeight height: Int, origin: (x: Int, y: Int) = (0, 0), border: T = 0
    ) -> [T] {
        precondition(src.count == sourceWidth * sourceHeight * channels, "warp input does not match its size")
        let g = Geometry(transform, width: width, height: height, sourceWidth: sourceWidth, sourceHeight: sourceHeight, origin: origin)
        let weights = floatWeights.map { $0.map { T($0) } }
        var out = [T](repeating: 0, count: width * height * channels)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                let o = SharedPointer(o.baseAddress!)
                forEachRow(height) { y in
                    let r = g.row(y)
                    for x in 0..<width {
                        let p = g.source(rowX: r.x, rowY: r.y, column: x)
                        let target = o.pointer + (y * width + x) * channels
                        if fullyOutside(g, x: p.x, y: p.y) {
                            for c in 0..<channels { target[c] = border }
                            continue
                        }
                        let w = weights[p.fy * 32 + p.fx]
                        for c in 0..<channels {
                            let v = neighbours(s, g, channels: channels, x: p.x, y: p.y, channel: c, border: border)
                            var sum = v.0 * w[0]
                            sum += v.1 * w[1]
                            sum += v.2 * w[2]
                            sum += v.3 * w[3]
                            target[c] = sum
                        }
                    }
                }
            }
        }
        return out
    }
}


extension Image {
    /// `cv2.warpAffine(image, transform, (width, height))`, bilinear, constant border `border`
    /// (one value per channel; 8-bit images only).
    package func warpedAffine(_ transform: AffineMatrix, width newWidth: Int, height newHeight: Int, origin: (x: Int, y: Int) = (0, 0),
                             border: [Int]) -> Image {
        precondition(bitDepth == 8, "warpedAffine takes 8-bit images")
        let out = WarpAffine.warp(pixels8, width: width, height: height, channels: channels, transform: transform,
                                  toWidth: newWidth, toHeight: newHeight, origin: origin, border: border.map { UInt8(clamping: $0) })
        return Image(width: newWidth, height: newHeight, channels: channels, pixels8: out)
    }
}
