/// Reflection padding of 4-D feature maps, contiguous (NCHW) or channel-blocked; the output keeps the
/// input's layout.
extension Tensor {
    /// `torch.nn.ReflectionPad2d(pad)`: every side grows by `pad`, the border row/column itself is
    /// not repeated (`out[-1] = in[1]`, `out[h] = in[h - 2]`). Needs `pad < h` and `pad < w`.
    package func reflectionPadded(_ pad: Int) throws -> Tensor {
        precondition(rank == 4 && pad >= 0, "reflection padding expects a 4-D tensor, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(pad < h && pad < w, "reflection padding \(pad) needs sides > \(pad), got \(shape)")
        if pad == 0 { return self }
        let input = self
        let block = channelBlock
        let (oh, ow) = (h + 2 * pad, w + 2 * pad)
        let out = try Tensor(uninitialized: [n, c, oh, ow], layout: input.layout)
        let planes = n * ((c + block - 1) / block)
        @inline(__always) func reflect(_ i: Int, _ size: Int) -> Int {
            i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
        }
        parallelFor(planes) { plane in
            let src = input.data + plane * h * w * block
            let dst = out.data + plane * oh * ow * block
            for y in 0..<oh {
                let srcRow = src + reflect(y - pad, h) * w * block
                let dstRow = dst + y * ow * block
                // Interior: one straight copy.
                (dstRow + pad * block).update(from: srcRow, count: w * block)
                for x in 0..<pad {
                    (dstRow + x * block).update(from: srcRow + (pad - x) * block, count: block)
                    (dstRow + (pad + w + x) * block).update(from: srcRow + (w - 2 - x) * block, count: block)
                }
            }
        }
        return out
    }
}
