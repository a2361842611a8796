import Foundation

/// A 2x3 affine map `(x, y) -> (m00 x + m01 y + m02, m10 x + m11 y + m12)` in Float64, as OpenCV
/// passes them to `warpAffine`.
package struct AffineMatrix: Sendable, Equatable, CustomStringConvertible {
    /// Row-major `[m00, m01, m02, m10, m11, m12]`.
    package var m: [Double]

    package init(_ m: [Double]) {
        precondition(m.count == 6, "an affine transform has 6 entries")
        self.m = m
    }

    package static let identity = AffineMatrix([1, 0, 0, 0, 1, 0])

    package func apply(x: Double, y: Double) -> (x: Double, y: Double) {
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }

    /// `cv2.invertAffineTransform`: a singular matrix gives all zeros, as OpenCV does.
    package func inverted() -> AffineMatrix {
        var d = m[0] * m[4] - m[1] * m[3]
        d = d != 0 ? 1 / d : 0
        let a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d
        return AffineMatrix([a11, a12, -a11 * m[2] - a12 * m[5], a21, a22, -a21 * m[2] - a22 * m[5]])
    }

    /// Every entry multiplied by `factor` (the helper's `inverse_affine *= upscale`).
    package func scaled(by factor: Double) -> AffineMatrix {
        AffineMatrix(m.map { $0 * factor })
    }

    /// The translation moved by `(dx, dy)`.
    package func translated(dx: Double, dy: Double) -> AffineMatrix {
        var copy = self
        copy.m[2] += dx
        copy.m[5] += dy
        return copy
    }

    package var description: String {
        "[[\(m[0]), \(m[1]), \(m[2])], [\(m[3]), \(m[4]), \(m[5])]]"
    }
}

extension AffineMatrix {
    /// `cv2.estimateAffinePartial2D(source, destination, method=cv2.LMEDS)`: the 4-degree-of-freedom
    /// similarity `[[a, -b, tx], [b, a, ty]]` mapping `source` onto `destination`.
    ///
    /// As OpenCV does, both point sets are rounded to Float32 first; the least-median-of-squares search
    /// runs over every pair of points (OpenCV draws random pairs; with the handful of points used here
    /// trying all of them is cheaper and deterministic), the inliers are the points within OpenCV's
    /// LMedS threshold of the best pair's model, and the result is the least-squares similarity over
    /// those inliers, which is where OpenCV's Levenberg-Marquardt refinement converges. Returns nil for
    /// fewer than two distinct points.
    package static func similarity(from source: [(x: Double, y: Double)], to destination: [(x: Double, y: Double)]) -> AffineMatrix? {
        precondition(source.count == destination.count, "\(source.count) source points for \(destination.count) destinations")
        let p = source.map { (Double(Float($0.x)), Double(Float($0.y))) }
        let q = destination.map { (Double(Float($0.x)), Double(Float($0.y))) }
        let n = p.count
        guard n >= 2 else { return nil }
        guard n > 2 else { return leastSquaresSimilarity(p, q) }

        func squaredErrors(_ t: AffineMatrix) -> [Double] {
            (0..<n).map { i in
                let (x, y) = t.apply(x: p[i].0, y: p[i].1)
                return (x - q[i].0) * (x - q[i].0) + (y - q[i].1) * (y - q[i].1)
            }
        }
        var best: (median: Double, model: AffineMatrix)?
        for i in 0..<n {
            for j in (i + 1)..<n {
                guard let model = leastSquaresSimilarity([p[i], p[j]], [q[i], q[j]]) else { continue }
                let errors = squaredErrors(model).sorted()
                let median = errors[n / 2]  // OpenCV's median of squared errors
                if best == nil || median < best!.median { best = (median, model) }
            }
        }
        guard let best else { return nil }
        // OpenCV's LMeDS inlier threshold (modelPoints = 2).
        let sigma = 2.5 * 1.4826 * (1 + 5 / Double(n - 2)) * best.median.squareRoot()
        let threshold = max(sigma, Double(Float.ulpOfOne) * 100)
        let errors = squaredErrors(best.model)
        let inliers = (0..<n).filter { errors[$0] <= threshold * threshold }
        guard inliers.count >= 2 else { return best.model }
        return leastSquaresSimilarity(inliers.map { p[$0] }, inliers.map { q[$0] }) ?? best.model
    }

    /// The similarity minimising the summed squared distances (closed form via centroids).
    static func leastSquaresSimilarity(_ p: [(Double, Double)], _ q: [(Double, Double)]) -> AffineMatrix? {
        let count = Double(p.count)
        let pcx = p.reduce(0) { $0 + $1.0 } / count, pcy = p.reduce(0) { $0 + $1.1 } / count
        let qcx = q.reduce(0) { $0 + $1.0 } / count, qcy = q.reduce(0) { $0 + $1.1 } / count
        var norm = 0.0, dot = 0.0, cross = 0.0
        for (a, b) in zip(p, q) {
            let (px, py, qx, qy) = (a.0 - pcx, a.1 - pcy, b.0 - qcx, b.1 - qcy)
            norm += px * px + py * py
            dot += px * qx + py * qy
            cross += px * qy - py * qx
        }
        guard norm > 0 else { return nil }
        let a = dot / norm, b = cross / norm
        return AffineMatrix([a, -b, qcx - (a * pcx - b * pcy), b, a, qcy - (b * pcx + a * pcy)])
    }
}
