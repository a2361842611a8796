package import Imaging
package import Networks
package import TensorCore

/// Real-ESRGAN's whole-image upscaler (`RealESRGANer` in sczhou/CodeFormer
/// `basicsr/utils/realesrgan_utils.py`): reflect pre-pad, reflect mod-pad (scale 2), the network on the
/// whole image or tile by tile, crop, clamp, round, optional LANCZOS4 resize to `outscale`.
///
/// Channel order: our `Image` is RGB, which is what the network expects, so no swaps are needed; the
/// grey conversions weight channel 0 (R) 0.299, 1 (G) 0.587, 2 (B) 0.114 as OpenCV's BGR->GRAY does.
package final class RealESRGANer: @unchecked Sendable {
    package let network: RRDBNet
    /// Tile edge in (pre- and mod-padded) input pixels; 0 = the whole image at once.
    package let tile: Int
    /// Context added on every side of a tile, clipped to the image.
    package let tilePad: Int
    /// Reflect padding added on the bottom and right before the network, removed afterwards.
    package let prePad: Int
    /// Our addition, off (0) by default so parity with upstream stays exact: neighbouring tiles
    /// overlap by this many input pixels on each side of a seam and are cross-faded linearly there,
    /// instead of upstream's hard seams. At most `tilePad` (the context each tile already has).
    package let seamOverlap: Int

    /// Defaults mirror `RealESRGANer.__init__` (tile 0, tile_pad 10, pre_pad 10); CodeFormer's demo
    /// uses tile 400, tile_pad 40, pre_pad 0.
    package init(network: RRDBNet, tile: Int = 0, tilePad: Int = 10, prePad: Int = 10, seamOverlap: Int = 0) {
        precondition(tile >= 0 && tilePad >= 0 && prePad >= 0, "tile \(tile), tile pad \(tilePad), pre pad \(prePad)")
        precondition(seamOverlap >= 0 && seamOverlap <= tilePad && 2 * seamOverlap <= tile,
                     "seam overlap \(seamOverlap) must be at most the tile pad (\(tilePad)) and half the tile (\(tile))")
        self.network = network
        self.tile = tile
        self.tilePad = tilePad
        self.prePad = prePad
        self.seamOverlap = seamOverlap
    }

    package var scale: Int { network.scale }

    /// `mod_scale`: the padded size must be a multiple of this for the network's pixel unshuffle.
    var modScale: Int? {
        switch scale {
        case 2: 2
        case 1: 4
        default: nil
        }
    }

    // MARK: enhance

    /// `enhance` without a tile callback.
    package func enhance(_ image: Image, outscale: Double? = nil) throws -> Image {
        try enhance(image, outscale: outscale) { _, _ in }
    }

    /// `RealESRGANer.enhance(img, outscale)` with `alpha_upsampler='realesrgan'`.
    ///
    /// - 8- or 16-bit: 16-bit is decided by value (maximum sample > 256), as the reference does; an
    ///   image decided 8-bit comes back 8-bit even if it was stored with 16 bits.
    /// - grey (1 channel): replicated to RGB, output converted back to one grey plane.
    /// - RGBA: the alpha plane goes through the same network as a grey image. Grey + alpha (which the
    ///   reference cannot take) is handled as grey colour plus alpha likewise.
    /// - `outscale`: when given and different from the network scale, the rounded result is resized
    ///   with LANCZOS4 to `int(w * outscale) x int(h * outscale)`.
    /// - `beforeTile(k, n)`: called before each of the `n` network runs (tiles, over the colour and
    ///   the alpha pass), k from 0; it can throw to stop the upscale there.
    package func enhance(_ image: Image, outscale: Double? = nil,
                        beforeTile: (_ index: Int, _ count: Int) throws -> Void) throws -> Image {
        let (w, h) = (image.width, image.height)
        let maxValue = image.bitDepth == 8 ? Int(image.pixels8.max() ?? 0) : Int(image.pixels16.max() ?? 0)
        let sixteenBit = maxValue > 256
        let maxRange: Float = sixteenBit ? 65535 : 255
        let samples = image.floatSamples  // integer units, exact in Float
        let n = w * h, ch = image.channels
        let colorChannels = image.hasAlpha ? ch - 1 : ch
        let isGray = colorChannels == 1

        /// One plane (or three) of the input as a (1, 3, h, w) tensor in [0, 1]; grey is replicated.
        func inputTensor(channels source: [Int]) throws -> Tensor {
            let t = try Tensor(zeros: [1, 3, h, w])
            for c in 0..<3 {
                let offset = source[source.count == 1 ? 0 : c]
                let dst = t.data + c * n
                for i in 0..<n { dst[i] = samples[i * ch + offset] / maxRange }
            }
            return t
        }

        let passes = image.hasAlpha ? 2 : 1
        let color = clamped(try upscaleRaw(inputTensor(channels: isGray ? [0] : [0, 1, 2])) { try beforeTile($0, $1 * passes) })
        let (ow, oh) = (color.shape[3], color.shape[2])
        let plane = ow * oh
        var planes: [UnsafeMutablePointer<Float>] = []
        let grey = isGray ? try Self.gray(color) : nil
        if let grey { planes.append(grey.data) } else { planes += (0..<3).map { color.data + $0 * plane } }
        var alpha: Tensor?
        if image.hasAlpha {
            alpha = try Self.gray(clamped(try upscaleRaw(inputTensor(channels: [ch - 1])) { try beforeTile($1 + $0, $1 * passes) }))
            planes.append(alpha!.data)
        }

        let outChannels = planes.count
        var result: Image
        if sixteenBit {
            var out = [UInt16](repeating: 0, count: plane * outChannels)
            for (c, p) in planes.enumerated() {
                for i in 0..<plane { out[i * outChannels + c] = UInt16((p[i] * 65535).rounded(.toNearestOrEven)) }
            }
            result = Image(width: ow, height: oh, channels: outChannels, pixels16: out)
        } else {
            var out = [UInt8](repeating: 0, count: plane * outChannels)
            for (c, p) in planes.enumerated() {
                for i in 0..<plane { out[i * outChannels + c] = UInt8((p[i] * 255).rounded(.toNearestOrEven)) }
            }
            result = Image(width: ow, height: oh, channels: outChannels, pixels8: out)
        }
        withExtendedLifetime((color, grey, alpha)) {}

        if let outscale, outscale != Double(scale) {
            let tw = Int(Double(w) * outscale), th = Int(Double(h) * outscale)
            precondition(tw > 0 && th > 0, "outscale \(outscale) gives an empty image")
            result = result.resized(width: tw, height: th, interpolation: .lanczos4)
        }
        return result
    }

    /// `clamp_(0, 1)` in place.
    func clamped(_ t: Tensor) -> Tensor {
        let p = t.data
        for i in 0..<t.elementCount { p[i] = min(max(p[i], 0), 1) }
        return t
    }

    /// OpenCV's float BGR->GRAY on an RGB (1, 3, H, W) tensor: `fma(r, 0.299, fma(g, 0.587, b * 0.114))`
    /// as its SIMD loop computes it. Returns (1, 1, H, W).
    static func gray(_ t: Tensor) throws -> Tensor {
        let plane = t.shape[2] * t.shape[3]
        let out = try Tensor(zeros: [1, 1, t.shape[2], t.shape[3]])
        let (r, g, b, d) = (t.data, t.data + plane, t.data + 2 * plane, out.data)
        let (cr, cg, cb): (Float, Float, Float) = (0.299, 0.587, 0.114)
        for i in 0..<plane {
            d[i] = (b[i] * cb).addingProduct(g[i], cg).addingProduct(r[i], cr)
        }
        return out
    }

    // MARK: raw

    /// `upscaleRaw` without a tile callback.
    package func upscaleRaw(_ input: Tensor) throws -> Tensor {
        try upscaleRaw(input) { _, _ in }
    }

    /// `pre_process` -> `process` / `tile_process` -> `post_process`: a contiguous (1, C, H, W) float
    /// image in [0, 1] to the unclamped (1, C, H*scale, W*scale) network output with all padding removed.
    /// `beforeTile(k, n)` is called before each of the `n` network runs.
    /// Throws what `beforeTile` throws, and `ComputeError` when the network cannot run.
    package func upscaleRaw(_ input: Tensor, beforeTile: (_ index: Int, _ count: Int) throws -> Void) throws -> Tensor {
        precondition(input.rank == 4 && input.shape[0] == 1, "expected (1, C, H, W), got \(input.shape)")
        var img = try input.contiguous()
        if prePad > 0 { img = try Self.reflectPadded(img, bottom: prePad, right: prePad) }
        var modPadH = 0, modPadW = 0
        if let m = modScale {
            let (h, w) = (img.shape[2], img.shape[3])
            if h % m != 0 { modPadH = m - h % m }
            if w % m != 0 { modPadW = m - w % m }
            if modPadH > 0 || modPadW > 0 { img = try Self.reflectPadded(img, bottom: modPadH, right: modPadW) }
        }
        var output: Tensor
        if tile > 0 {
            output = try tiled(img, beforeTile: beforeTile)
        } else {
            try beforeTile(0, 1)
            output = try network(img)
        }
        let s = scale
        let keepH = output.shape[2] - (modPadH + prePad) * s
        let keepW = output.shape[3] - (modPadW + prePad) * s
        if keepH != output.shape[2] || keepW != output.shape[3] {
            output = try Self.cropped(output, y: 0, x: 0, height: keepH, width: keepW)
        }
        return output
    }

    /// `tile_process`: non-overlapping cores of `tile` pixels, each run with `tilePad` context clipped
    /// to the image as an independent image; the cores of the outputs stitched together (or, with
    /// `seamOverlap`, cross-faded across each seam).
    func tiled(_ img: Tensor, beforeTile: (_ index: Int, _ count: Int) throws -> Void) throws -> Tensor {
        let (c, h, w) = (img.shape[1], img.shape[2], img.shape[3])
        let s = scale
        let (oh, ow) = (h * s, w * s)
        let output = try Tensor(zeros: [1, c, oh, ow])
        let tilesX = (w + tile - 1) / tile, tilesY = (h + tile - 1) / tile
        let overlap = seamOverlap * s
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let x0 = tx * tile, x1 = min(x0 + tile, w)
                let y0 = ty * tile, y1 = min(y0 + tile, h)
                let px0 = max(x0 - tilePad, 0), px1 = min(x1 + tilePad, w)
                let py0 = max(y0 - tilePad, 0), py1 = min(y1 + tilePad, h)
                try beforeTile(ty * tilesX + tx, tilesX * tilesY)
                let tileInput = try Self.cropped(img, y: py0, x: px0, height: py1 - py0, width: px1 - px0)
                let tileOutput = try network(tileInput).contiguous()
                let (toh, tow) = (tileOutput.shape[2], tileOutput.shape[3])
                if overlap > 0 {
                    let xs = Self.seamWeights(start: x0 * s, end: x1 * s, length: ow, overlap: overlap)
                    let ys = Self.seamWeights(start: y0 * s, end: y1 * s, length: oh, overlap: overlap)
                    for ch in 0..<tileOutput.shape[1] {
                        for (r, wy) in zip(ys.first..<(ys.first + ys.weights.count), ys.weights) {
                            let src = tileOutput.data + (ch * toh + r - py0 * s) * tow - px0 * s
                            let dst = output.data + (ch * oh + r) * ow
                            for (col, wx) in zip(xs.first..<(xs.first + xs.weights.count), xs.weights) {
                                dst[col] += wy * wx * src[col]
                            }
                        }
                    }
                    continue
                }
                let (sy, sx) = ((y0 - py0) * s, (x0 - px0) * s)
                let (rows, cols) = ((y1 - y0) * s, (x1 - x0) * s)
                for ch in 0..<tileOutput.shape[1] {
                    for r in 0..<rows {
                        let src = tileOutput.data + (ch * toh + sy + r) * tow + sx
                        let dst = output.data + (ch * oh + y0 * s + r) * ow + x0 * s
                        dst.update(from: src, count: cols)
                    }
                }
            }
        }
        return output
    }

    /// Along one axis, the output positions a tile with core `[start, end)` contributes to and its
    /// weights: 1 inside, a linear ramp over the `2 * overlap` band centred on each inner seam (the
    /// neighbour's ramp is the complement, so weights sum to 1 everywhere).
    package static func seamWeights(start: Int, end: Int, length: Int, overlap: Int) -> (first: Int, weights: [Float]) {
        let first = max(start - overlap, 0)
        let last = min(end + overlap, length)
        let band = Float(2 * overlap)
        let weights = (first..<last).map { p -> Float in
            var weight: Float = 1
            if start > 0 && p < start + overlap { weight = min(weight, (Float(p - (start - overlap)) + 0.5) / band) }
            if end < length && p >= end - overlap { weight = min(weight, 1 - (Float(p - (end - overlap)) + 0.5) / band) }
            return weight
        }
        return (first, weights)
    }

    /// `F.pad(x, (0, right, 0, bottom), 'reflect')` on a contiguous (1, C, H, W) tensor.
    static func reflectPadded(_ x: Tensor, bottom: Int, right: Int) throws -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        precondition(bottom < h && right < w, "reflect padding (\(bottom), \(right)) needs a larger image than \(w)x\(h)")
        let (nh, nw) = (h + bottom, w + right)
        let out = try Tensor(uninitialized: [1, c, nh, nw])
        func reflect(_ i: Int, _ n: Int) -> Int { i < n ? i : 2 * (n - 1) - i }
        for ch in 0..<c {
            for y in 0..<nh {
                let src = x.data + (ch * h + reflect(y, h)) * w
                let dst = out.data + (ch * nh + y) * nw
                dst.update(from: src, count: w)
                for xx in w..<nw { dst[xx] = src[reflect(xx, w)] }
            }
        }
        return out
    }

    /// Rows `[y, y + height)` and columns `[x, x + width)` of a contiguous (1, C, H, W) tensor.
    static func cropped(_ t: Tensor, y: Int, x: Int, height: Int, width: Int) throws -> Tensor {
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        precondition(y >= 0 && x >= 0 && y + height <= h && x + width <= w, "crop outside \(w)x\(h)")
        let out = try Tensor(uninitialized: [1, c, height, width])
        for ch in 0..<c {
            for r in 0..<height {
                (out.data + (ch * height + r) * width).update(from: t.data + (ch * h + y + r) * w + x, count: width)
            }
        }
        return out
    }
}
