/// OpenCV's `INTER_AREA` for shrinking (both scale factors ≥ 1), in its two forms.
enum AreaResize {
    /// Integer factors: each output is the mean of a `blockX × blockY` block. OpenCV rounds 2×2
    /// means of 1/3/4-channel integer images as `(sum + 2) >> 2` (half up) and everything else via
    /// `saturate_cast(sum · (1/area))` (half to even); blocks cut by the border average what exists.
    static func fast<T: ResizableSample>(_ src: [T], _ g: ResizeGeometry, blockX: Int, blockY: Int) -> [T] {
        let cn = g.channels, sw = g.srcWidth, sh = g.srcHeight, dw = g.dstWidth, dh = g.dstHeight
        var dst = [T](repeating: T(clampingInteger: 0), count: dw * dh * cn)
        let area = blockX * blockY
        let scale = 1 / Float(area)
        let isFloat = T.self == Float.self
        let halfUp = !isFloat && blockX == 2 && blockY == 2 && cn != 2
        let fullColumns = sw / blockX
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                for dy in 0..<dh {
                    let sy0 = dy * blockY
                    let row = dy * dw * cn
                    if sy0 >= sh { continue }                       // OpenCV writes zeros
                    let fullRow = sy0 + blockY <= sh
                    for dx in 0..<dw {
                        let sx0 = dx * blockX
                        for c in 0..<cn {
                            if fullRow && dx < fullColumns {
                                if isFloat {
                                    var sum: Float = 0
                                    for by in 0..<blockY {
                                        let base = ((sy0 + by) * sw + sx0) * cn + c
                                        for bx in 0..<blockX { sum += s[base + bx * cn].work }
                                    }
                                    d[row + dx * cn + c] = T(saturating: sum * scale)
                                } else {
                                    var sum: Int32 = 0
                                    for by in 0..<blockY {
                                        let base = ((sy0 + by) * sw + sx0) * cn + c
                                        for bx in 0..<blockX { sum += s[base + bx * cn].integer }
                                    }
                                    d[row + dx * cn + c] = halfUp ? T(clampingInteger: (sum + 2) >> 2) : T(saturating: Float(sum) * scale)
                                }
                            } else {
                                if sx0 >= sw { continue }
                                var sum: Float = 0, count = 0
                                for by in 0..<blockY where sy0 + by < sh {
                                    for bx in 0..<blockX where sx0 + bx < sw {
                                        sum += s[((sy0 + by) * sw + sx0 + bx) * cn + c].work
                                        count += 1
                                    }
                                }
                                d[row + dx * cn + c] = T(saturating: sum / Float(count))
                            }
                        }
                    }
                }
            }
        }
        return dst
    }

    private struct Tap { let source: Int; let destination: Int; let weight: Float }

    /// Fractional factors: every source pixel contributes to the outputs its cell overlaps, weighted by
    /// the overlap (float32 weights, float32 accumulation in OpenCV's order: columns first, then rows).
    static func general<T: ResizableSample>(_ src: [T], _ g: ResizeGeometry) -> [T] {
        let cn = g.channels, sw = g.srcWidth, dw = g.dstWidth, dh = g.dstHeight
        let xtab = taps(sourceLength: sw, destinationLength: dw, scale: g.scaleX)
        let ytab = taps(sourceLength: g.srcHeight, destinationLength: dh, scale: g.scaleY)
        var dst = [T](repeating: T(clampingInteger: 0), count: dw * dh * cn)
        var buf = [Float](repeating: 0, count: dw * cn)
        var sum = [Float](repeating: 0, count: dw * cn)
        var previousRow = ytab.first?.destination ?? 0
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                buf.withUnsafeMutableBufferPointer { b in
                    sum.withUnsafeMutableBufferPointer { acc in
                        func flush(_ row: Int) {
                            let base = row * dw * cn
                            for i in 0..<(dw * cn) { d[base + i] = T(saturating: acc[i]) }
                        }
                        for ytap in ytab {
                            let srcRow = ytap.source * sw * cn
                            for i in 0..<(dw * cn) { b[i] = 0 }
                            for xtap in xtab {
                                let sBase = srcRow + xtap.source * cn, dBase = xtap.destination * cn
                                for c in 0..<cn { b[dBase + c] = b[dBase + c] + s[sBase + c].work * xtap.weight }
                            }
                            let beta = ytap.weight
                            if ytap.destination != previousRow {
                                flush(previousRow)
                                for i in 0..<(dw * cn) { acc[i] = beta * b[i] }
                                previousRow = ytap.destination
                            } else {
                                for i in 0..<(dw * cn) { acc[i] += beta * b[i] }
                            }
                        }
                        flush(previousRow)
                    }
                }
            }
        }
        return dst
    }

    /// OpenCV's `computeResizeAreaTab`: partial cells get weight (overlap / cell width), whole
    /// pixels 1 / cell width; overlaps under 1e-3 are dropped.
    private static func taps(sourceLength n: Int, destinationLength m: Int, scale: Double) -> [Tap] {
        var tab: [Tap] = []
        tab.reserveCapacity(2 * n)
        for dx in 0..<m {
            let fsx1 = Double(dx) * scale
            let fsx2 = fsx1 + scale
            let cellWidth = min(scale, Double(n) - fsx1)
            var sx2 = Int(fsx2.rounded(.down))
            var sx1 = Int(fsx1.rounded(.up))
            sx2 = min(sx2, n - 1)
            sx1 = min(sx1, sx2)
            if Double(sx1) - fsx1 > 1e-3 {
                tab.append(Tap(source: sx1 - 1, destination: dx, weight: Float((Double(sx1) - fsx1) / cellWidth)))
            }
            if sx1 < sx2 {
                for sx in sx1..<sx2 { tab.append(Tap(source: sx, destination: dx, weight: Float(1.0 / cellWidth))) }
            }
            if fsx2 - Double(sx2) > 1e-3 {
                tab.append(Tap(source: sx2, destination: dx,
                               weight: Float(min(min(fsx2 - Double(sx2), 1.0), cellWidth) / cellWidth)))
            }
        }
        return tab
    }
}
