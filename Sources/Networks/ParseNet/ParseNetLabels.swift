import Foundation
package import TensorCore

/// ParseNet's per-pixel face-part labels, which paste-back turns into its face mask.
extension ParseNet {
    /// Per-pixel label = the first channel with the largest logit (`logits.argmax(dim=1)`), for a
    /// `(1, C, H, W)` tensor; row-major `H * W`.
    package static func labels(fromLogits logits: Tensor) throws -> [Int32] {
        precondition(logits.rank == 4 && logits.shape[0] == 1, "labels expect (1, c, h, w) logits, got \(logits.shape)")
        let x = try logits.contiguous()
        let (channels, plane) = (x.shape[1], x.shape[2] * x.shape[3])
        var labels = [Int32](repeating: 0, count: plane)
        labels.withUnsafeMutableBufferPointer { out in
            let out = SharedPointer(out.baseAddress!)
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
}
