import Foundation
package import TensorCore

/// RetinaFace's detection post-processing as in `RetinaFace.detect_faces` (origin size, resize 1):
/// prior boxes, decode (variances 0.1 / 0.2), strict `score > threshold`, sort by score, NMS
/// (torchvision semantics: no "+1" in areas, suppress on `IoU > nms`).
package struct RetinaFacePostProcessing: Sendable {
    package static let steps = [8, 16, 32]
    package static let minSizes = [[16, 32], [64, 128], [256, 512]]

    package var confidenceThreshold: Float
    package var nmsThreshold: Float
    package var variances: (center: Float, size: Float)

    package init(confidenceThreshold: Float = 0.8, nmsThreshold: Float = 0.4, variances: (center: Float, size: Float) = (0.1, 0.2)) {
        self.confidenceThreshold = confidenceThreshold
        self.nmsThreshold = nmsThreshold
        self.variances = variances
    }

    /// `PriorBox(cfg, image_size=(height, width)).forward()`: `(N, 4)` rows `(cx, cy, w, h)`,
    /// normalised, not clipped; computed in double, stored as float32. Order: level, row, column,
    /// min size.
    package static func priors(height: Int, width: Int) -> [Float] {
        var anchors: [Float] = []
        anchors.reserveCapacity(anchorCount(height: height, width: width) * 4)
        let (h, w) = (Double(height), Double(width))
        for (level, step) in steps.enumerated() {
            let rows = (height + step - 1) / step, cols = (width + step - 1) / step
            for i in 0..<rows {
                for j in 0..<cols {
                    for m in minSizes[level] {
                        let cx = (Double(j) + 0.5) * Double(step) / w
                        let cy = (Double(i) + 0.5) * Double(step) / h
                        anchors += [Float(cx), Float(cy), Float(Double(m) / w), Float(Double(m) / h)]
                    }
                }
            }
        }
        return anchors
    }

    /// Number of anchors for an input of `height x width` (equals the network's output count).
    package static func anchorCount(height: Int, width: Int) -> Int {
        zip(steps, minSizes).reduce(0) { total, level in
            total + ((height + level.0 - 1) / level.0) * ((width + level.0 - 1) / level.0) * level.1.count
        }
    }

    /// Detections in network-input pixels, highest score first: rows
    /// `[x1, y1, x2, y2, score, l0x, l0y, ..., l4x, l4y]`.
    ///
    /// - Parameters:
    ///   - loc: `(1, N, 4)` raw box offsets; `confidenceLogits`: `(1, N, 2)`; `landmarks`: `(1, N, 10)`.
    ///   - height, width: the network input's size.
    package func detections(loc: Tensor, confidenceLogits: Tensor, landmarks: Tensor, height: Int, width: Int) throws -> [[Float]] {
        let n = Self.anchorCount(height: height, width: width)
        precondition(loc.shape == [1, n, 4] && confidenceLogits.shape == [1, n, 2] && landmarks.shape == [1, n, 10],
                     "RetinaFace outputs \(loc.shape) \(confidenceLogits.shape) \(landmarks.shape) for \(n) anchors")
        let priors = Self.priors(height: height, width: width)
        let scores = try RetinaFace.softmax(confidenceLogits).toArray()
        let l = try loc.contiguous(), e = try landmarks.contiguous()
        let (fw, fh) = (Float(width), Float(height))
        let (v0, v1) = variances

        var candidates: [(index: Int, score: Float)] = []
        for i in 0..<n where scores[2 * i + 1] > confidenceThreshold { candidates.append((i, scores[2 * i + 1])) }
        // numpy `argsort()[::-1]`: descending; equal scores come out in reverse index order.
        candidates.sort { $0.score != $1.score ? $0.score > $1.score : $0.index > $1.index }

        var rows: [[Float]] = candidates.map { candidate in
            let i = candidate.index
            let (pcx, pcy, pw, ph) = (priors[4 * i], priors[4 * i + 1], priors[4 * i + 2], priors[4 * i + 3])
            let d = l.data + 4 * i
            let cx = pcx + d[0] * v0 * pw, cy = pcy + d[1] * v0 * ph
            let bw = pw * expf(d[2] * v1), bh = ph * expf(d[3] * v1)
            let x1 = cx - bw / 2, y1 = cy - bh / 2
            let x2 = bw + x1, y2 = bh + y1
            var row: [Float] = [x1 * fw, y1 * fh, x2 * fw, y2 * fh, candidate.score]
            let m = e.data + 10 * i
            for k in 0..<5 {
                row.append((pcx + m[2 * k] * v0 * pw) * fw)
                row.append((pcy + m[2 * k + 1] * v0 * ph) * fh)
            }
            return row
        }
        rows = Self.nonMaximumSuppression(rows, threshold: nmsThreshold)
        return rows
    }

    /// `torchvision.ops.nms` on rows already sorted by score: keeps a row unless its IoU (float32,
    /// areas `(x2 - x1) * (y2 - y1)`) with an already kept row is `> threshold`.
    package static func nonMaximumSuppression(_ rows: [[Float]], threshold: Float) -> [[Float]] {
        var suppressed = [Bool](repeating: false, count: rows.count)
        var kept: [[Float]] = []
        for i in 0..<rows.count where !suppressed[i] {
            let a = rows[i]
            kept.append(a)
            let areaA = (a[2] - a[0]) * (a[3] - a[1])
            for j in (i + 1)..<rows.count where !suppressed[j] {
                let b = rows[j]
                let w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
                let h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
                let inter = w * h
                let areaB = (b[2] - b[0]) * (b[3] - b[1])
                if inter / (areaA + areaB - inter) > threshold { suppressed[j] = true }
            }
        }
        return kept
    }
}
