import Foundation

/// Convolution as im2col + GEMM on contiguous NCHW maps, tiled over output rows so the column
/// buffer stays in cache: `out[o, p] = sum_k W[o, k] * col[k, p]` with `k = (c, ky, kx)`, the
/// order in which PyTorch's reference sums (see `ConvAlgorithm.gemm`).
struct Im2colConvolution {
    let inChannels: Int
    let outChannels: Int
    let kernel: (height: Int, width: Int)
    let stride: Int
    let padding: ConvPadding
    /// `(out, in * kh * kw)` row-major: the state dict's OIHW weights, as they are.
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>?

    /// Column-buffer budget per tile, in floats (~2 MB).
    static let tileFloats = 1 << 21

    func run(input: Tensor, output: Tensor, accumulate: Bool) throws {
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let (oh, ow) = (output.shape[2], output.shape[3])
        let k = inChannels * kernel.height * kernel.width
        let rowsPerTile = max(1, min(oh, Self.tileFloats / max(1, k * ow)))
        let column = try TensorStorage(count: k * rowsPerTile * ow, zeroed: false, for: "im2col columns")
        for b in 0..<n {
            let src = input.data + b * inChannels * h * w
            let dst = output.data + b * outChannels * oh * ow
            if !accumulate {
                for o in 0..<outChannels {
                    (dst + o * oh * ow).update(repeating: bias?[o] ?? 0, count: oh * ow)
                }
            } else if let bias {
                for o in 0..<outChannels {
                    let plane = dst + o * oh * ow
                    let value = bias[o]
                    for i in 0..<oh * ow { plane[i] += value }
                }
            }
            var y0 = 0
            while y0 < oh {
                let rows = min(rowsPerTile, oh - y0)
                let columns = rows * ow
                fill(column.pointer, from: src, height: h, width: w, firstRow: y0, rows: rows, outWidth: ow)
                try Matmul.gemm(weights, column.pointer, dst + y0 * ow,
                            m: outChannels, n: columns, k: k, beta: 1, ldb: columns, ldc: oh * ow)
                y0 += rows
            }
        }
    }

    /// Writes the column matrix for output rows `firstRow ..< firstRow + rows`.
    private func fill(
        _ column: UnsafeMutablePointer<Float>, from src: UnsafeMutablePointer<Float>,
        height h: Int, width w: Int, firstRow: Int, rows: Int, outWidth ow: Int
    ) {
        let (kh, kw) = kernel
        let columns = rows * ow
        parallelFor(inChannels) { c in
            let plane = src + c * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = column + ((c * kh + ky) * kw + kx) * columns
                    for r in 0..<rows {
                        let out = row + r * ow
                        let iy = (firstRow + r) * stride + ky - padding.top
                        guard iy >= 0 && iy < h else {
                            out.update(repeating: 0, count: ow)
                            continue
                        }
                        let line = plane + iy * w
                        let dx = kx - padding.left
                        if stride == 1 {
                            // out[x] = line[x + dx] where 0 <= x + dx < w.
                            let start = max(0, -dx), end = min(ow, w - dx)
                            if start > 0 { out.update(repeating: 0, count: start) }
                            if end > start { (out + start).update(from: line + start + dx, count: end - start) }
                            if end < ow { (out + max(end, start)).update(repeating: 0, count: ow - max(end, start)) }
                        } else {
                            for x in 0..<ow {
                                let ix = x * stride + dx
                                out[x] = ix >= 0 && ix < w ? line[ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}
