/// Resampling of 4-D feature maps to a given size, contiguous (NCHW) or channel-blocked; outputs keep
/// the input's layout.
extension Tensor {
    /// Nearest-neighbour resize to `height x width` with PyTorch's legacy `mode="nearest"` rule
    /// (`F.interpolate(x, size=..., mode="nearest")`): `src = min(floor(dst * (in / out)), in - 1)`,
    /// the scale and product in float32 as PyTorch computes them. Sizes need not be multiples
    /// (RetinaFace's FPN resizes 27 -> 53 and 53 -> 105).
    package func resizedNearest(height oh: Int, width ow: Int) throws -> Tensor {
        precondition(rank == 4 && oh > 0 && ow > 0, "nearest resize of \(shape) to \(oh)x\(ow)")
        let input = self
        let block = channelBlock
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let rows = Tensor.legacyNearestIndices(input: h, output: oh)
        let cols = Tensor.legacyNearestIndices(input: w, output: ow)
        let out = try Tensor(uninitialized: [n, c, oh, ow], layout: layout)
        let planes = n * ((c + block - 1) / block)
        parallelFor(planes) { plane in
            let src = input.data + plane * h * w * block
            let dst = out.data + plane * oh * ow * block
            for y in 0..<oh {
                let srcRow = src + rows[y] * w * block
                let dstRow = dst + y * ow * block
                if block == 1 {
                    for x in 0..<ow { dstRow[x] = srcRow[cols[x]] }
                } else {
                    for x in 0..<ow { (dstRow + x * block).update(from: srcRow + cols[x] * block, count: block) }
                }
            }
        }
        return out
    }

    /// Source index of every output index under the legacy nearest rule (PyTorch `nearest_idx`).
    package static func legacyNearestIndices(input: Int, output: Int) -> [Int] {
        if input == output { return Array(0..<output) }
        if output == 2 * input { return (0..<output).map { $0 >> 1 } }
        let scale = Float(input) / Float(output)
        return (0..<output).map { min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }
}
