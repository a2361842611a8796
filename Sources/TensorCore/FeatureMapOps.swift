/// Shape and element-wise operations on 4-D feature maps, contiguous (NCHW) or channel-blocked;
/// outputs keep the input's layout.
extension Tensor {
    /// The tensor in the activation layout convolutions produce.
    package func blocked() throws -> Tensor {
        rank == 4 && layout == .contiguous ? try withLayout(.channelBlocked(Conv2d.activationBlock)) : self
    }

    /// Nearest-neighbour upsampling by an integer factor: `out[i, j] = in[i / f, j / f]`
    /// (PyTorch `F.interpolate(scale_factor=f, mode="nearest")`).
    package func upsampledNearest(factor: Int) throws -> Tensor {
        let input = self
        let block = channelBlock
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let out = try Tensor(uninitialized: [n, c, h * factor, w * factor], layout: input.layout)
        let planes = n * (c + block - 1) / block
        let (oh, ow) = (h * factor, w * factor)
        parallelFor(planes) { plane in
            let src = input.data + plane * h * w * block
            let dst = out.data + plane * oh * ow * block
            for y in 0..<oh {
                let srcRow = src + (y / factor) * w * block
                let dstRow = dst + y * ow * block
                if block == 1 {
                    for x in 0..<ow { dstRow[x] = srcRow[x / factor] }
                } else {
                    for x in 0..<ow {
                        (dstRow + x * block).update(from: srcRow + (x / factor) * block, count: block)
                    }
                }
            }
        }
        return out
    }

    /// Pixel unshuffle (`torch.nn.functional.pixel_unshuffle(x, f)`, as `basicsr`'s
    /// `pixel_unshuffle`): `(n, c, h, w)` -> `(n, c*f*f, h/f, w/f)` with
    /// `out[c*f*f + dy*f + dx, i, j] = in[c, i*f + dy, j*f + dx]` (colour-major channel order).
    /// Needs `h` and `w` divisible by `f`; the output is contiguous.
    package func pixelUnshuffled(factor: Int) throws -> Tensor {
        precondition(rank == 4 && factor > 0, "pixel unshuffle expects a 4-D tensor, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(h % factor == 0 && w % factor == 0, "pixel unshuffle by \(factor) needs divisible sides, got \(shape)")
        let input = try contiguous()
        let (oh, ow) = (h / factor, w / factor)
        let out = try Tensor(uninitialized: [n, c * factor * factor, oh, ow])
        parallelFor(n * c) { plane in
            let src = input.data + plane * h * w
            for dy in 0..<factor {
                for dx in 0..<factor {
                    let dst = out.data + ((plane * factor + dy) * factor + dx) * oh * ow
                    for i in 0..<oh {
                        let srcRow = src + (i * factor + dy) * w + dx
                        let dstRow = dst + i * ow
                        for j in 0..<ow { dstRow[j] = srcRow[j * factor] }
                    }
                }
            }
        }
        return out
    }

    /// Concatenation along channels (`torch.cat(dim=1)`). With channel counts that are multiples of the
    /// block this is a copy of whole blocks.
    package static func concatenateChannels(_ parts: [Tensor]) throws -> Tensor {
        if parts.allSatisfy({ $0.layout == .contiguous }) { return try concatenatePlain(parts) }
        let block = Conv2d.activationBlock
        let inputs = try parts.map { try $0.blocked() }
        let (n, h, w) = (inputs[0].shape[0], inputs[0].shape[2], inputs[0].shape[3])
        precondition(inputs.allSatisfy { $0.shape[0] == n && $0.shape[2] == h && $0.shape[3] == w }, "concat shapes \(parts.map(\.shape))")
        let channels = inputs.reduce(0) { $0 + $1.shape[1] }
        if inputs.dropLast().allSatisfy({ $0.shape[1] % block == 0 }) {
            let out = try Tensor(uninitialized: [n, channels, h, w], layout: .channelBlocked(block))
            let outBlocks = (channels + block - 1) / block
            for b in 0..<n {
                var offset = 0
                for part in inputs {
                    let partBlocks = (part.shape[1] + block - 1) / block
                    let count = partBlocks * h * w * block
                    (out.data + (b * outBlocks + offset) * h * w * block)
                        .update(from: part.data + b * count, count: count)
                    offset += partBlocks
                }
            }
            return out
        }
        return try concatenatePlain(inputs).blocked()
    }

    private static func concatenatePlain(_ parts: [Tensor]) throws -> Tensor {
        let plain = try parts.map { try $0.contiguous() }
        let (n, h, w) = (plain[0].shape[0], plain[0].shape[2], plain[0].shape[3])
        precondition(plain.allSatisfy { $0.shape[0] == n && $0.shape[2] == h && $0.shape[3] == w }, "concat shapes \(parts.map(\.shape))")
        let channels = plain.reduce(0) { $0 + $1.shape[1] }
        let out = try Tensor(uninitialized: [n, channels, h, w])
        for b in 0..<n {
            var offset = 0
            for part in plain {
                let count = part.shape[1] * h * w
                (out.data + (b * channels * h * w) + offset).update(from: part.data + b * count, count: count)
                offset += count
            }
        }
        return out
    }

    /// A copy of rows `range` of every plane (`x[:, :, range, :]`), in the same layout.
    package func rows(_ range: Range<Int>) throws -> Tensor {
        precondition(rank == 4 && range.lowerBound >= 0 && range.upperBound <= shape[2], "rows \(range) of \(shape)")
        let block = channelBlock
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let out = try Tensor(uninitialized: [n, c, range.count, w], layout: layout)
        let input = self
        parallelFor(n * ((c + block - 1) / block)) { plane in
            (out.data + plane * range.count * w * block)
                .update(from: input.data + (plane * h + range.lowerBound) * w * block, count: range.count * w * block)
        }
        return out
    }

    /// Concatenation along rows (`torch.cat(dim=2)`) of maps with equal batch, channels and width;
    /// the output is contiguous.
    package static func concatenateRows(_ parts: [Tensor]) throws -> Tensor {
        let plain = try parts.map { try $0.contiguous() }
        let (n, c, w) = (plain[0].shape[0], plain[0].shape[1], plain[0].shape[3])
        precondition(plain.allSatisfy { $0.shape[0] == n && $0.shape[1] == c && $0.shape[3] == w }, "row concat shapes \(parts.map(\.shape))")
        let height = plain.reduce(0) { $0 + $1.shape[2] }
        let out = try Tensor(uninitialized: [n, c, height, w])
        parallelFor(n * c) { plane in
            var row = 0
            for part in plain {
                let rows = part.shape[2]
                (out.data + (plane * height + row) * w).update(from: part.data + plane * rows * w, count: rows * w)
                row += rows
            }
        }
        return out
    }

    /// Element-wise `self + other` (same shape; layouts are matched to `self`).
    package static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor {
        precondition(lhs.shape == rhs.shape, "adding \(lhs.shape) and \(rhs.shape)")
        let other = try rhs.withLayout(lhs.layout)
        let out = try Tensor(uninitialized: lhs.shape, layout: lhs.layout)
        let count = Tensor.storageCount(shape: lhs.shape, layout: lhs.layout)
        parallelForChunks(count) { range in
            for i in range { out.data[i] = lhs.data[i] + other.data[i] }
        }
        return out
    }

    /// Multiplies every element by `factor`: in place when this handle is the only one to its
    /// storage, else on a copy first (other handles keep their values).
    package mutating func scale(by factor: Float) throws {
        if factor == 1 { return }
        try makeUnique()
        let count = Tensor.storageCount(shape: shape, layout: layout)
        let values = data
        parallelForChunks(count) { range in
            for i in range { values[i] *= factor }
        }
    }

    /// `self * factor + other` (same shape; `other` is matched to this layout), rounded in two steps
    /// as PyTorch's `y * 0.2 + x`: one pass, in place when this handle is the only one to its storage.
    package consuming func scaled(by factor: Float, plus other: Tensor) throws -> Tensor {
        precondition(shape == other.shape, "adding \(other.shape) to \(shape)")
        var out = consume self
        try out.makeUnique()
        let residual = try other.withLayout(out.layout)
        Tensor.scaleAndAdd(out.data, count: Tensor.storageCount(shape: out.shape, layout: out.layout), scale: factor, residual: residual.data)
        withExtendedLifetime(residual) {}
        return out
    }

    /// `values[i] = values[i] * scale + residual[i]` for every `i < count`, in parallel: the
    /// product is rounded before the sum (no fused multiply-add), as in PyTorch.
    package static func scaleAndAdd(_ values: UnsafeMutablePointer<Float>, count: Int, scale: Float, residual: UnsafePointer<Float>) {
        let (output, input) = (SharedPointer(values), SharedPointer(reading: residual))
        parallelForChunks(count) { range in
            for i in range {
                let product = output.pointer[i] * scale
                output.pointer[i] = product + input.pointer[i]
            }
        }
    }

    /// A new tensor holding `factor * self`.
    package func scaled(by factor: Float) throws -> Tensor {
        var out = self
        try out.scale(by: factor)
        return out
    }
}
