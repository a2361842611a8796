/// Group normalisation (PyTorch `nn.GroupNorm`, affine) over a feature map, contiguous or
/// channel-blocked.
///
/// Statistics are exact to float64 rounding (float32 partial sums over short runs, two passes
/// around the group mean), so the result is at least as close to exact arithmetic as PyTorch's.
/// Normalisation is `(x - mean) * a[c] + b[c]`, subtracting first so that maps with a large common
/// offset keep their precision.
package struct GroupNorm: Sendable {
    package let groups: Int
    package let epsilon: Double
    package let weight: Tensor
    package let bias: Tensor

    package init(groups: Int, epsilon: Double, weight: Tensor, bias: Tensor) throws {
        precondition(weight.shape == bias.shape && weight.rank == 1, "group norm parameters \(weight.shape) / \(bias.shape)")
        precondition(weight.shape[0] % groups == 0, "\(weight.shape[0]) channels do not split into \(groups) groups")
        self.groups = groups
        self.epsilon = epsilon
        self.weight = try weight.contiguous()
        self.bias = try bias.contiguous()
    }

    package var channels: Int { weight.shape[0] }

    /// Normalises `x`, then applies `activation` (VQGAN follows most norms with swish).
    package func callAsFunction(_ x: Tensor, activation: Activation? = nil) throws -> Tensor {
        var output = try Tensor(uninitialized: x.shape, layout: x.layout)
        normalize(x, writingInto: output)
        if let activation { try output.apply(activation) }
        return output
    }

    /// The same, written over `x` when this is its only handle (saving a whole feature map at the
    /// peak of a large layer; hand it over with `consume`), else into a new map.
    package func normalize(_ x: inout Tensor, activation: Activation? = nil) throws {
        guard x.isUniquelyReferenced() else {
            x = try self(x, activation: activation)
            return
        }
        normalize(x, writingInto: x)
        if let activation { try x.apply(activation) }
    }

    /// Writes the normalised `x` through `output.data`: the caller's new map, or `x` itself when
    /// the caller holds its only handle. Statistics are taken before any element is written, and
    /// each element is written from itself alone, so `output` may be `x`.
    private func normalize(_ x: Tensor, writingInto output: Tensor) {
        precondition(x.rank == 4 && x.shape[1] == channels, "group norm over \(channels) channels got \(x.shape)")
        let block = x.channelBlock
        precondition(block == 1 || block == 8 || block == 16, "channel block \(block) not supported")
        let (batch, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        let paddedChannels = (c + block - 1) / block * block
        let perGroup = c / groups
        let count = Double(perGroup * plane)
        let lanes = LaneMap(block: block, plane: plane)

        for n in 0..<batch {
            let input = x.data + n * paddedChannels * plane
            let result = output.data + n * paddedChannels * plane
            let zero = [Float](repeating: 0, count: paddedChannels)
            let sums = lanes.channelSums(input, channels: paddedChannels, center: zero, squared: false)
            var means = [Double](repeating: 0, count: groups)
            var center = [Float](repeating: 0, count: paddedChannels)
            for g in 0..<groups {
                means[g] = sums[g * perGroup..<(g + 1) * perGroup].reduce(0, +) / count
                for ch in g * perGroup..<(g + 1) * perGroup { center[ch] = Float(means[g]) }
            }
            let squares = lanes.channelSums(input, channels: paddedChannels, center: center, squared: true)
            var scale = [Float](repeating: 0, count: paddedChannels)
            var shift = [Float](repeating: 0, count: paddedChannels)
            for g in 0..<groups {
                let members = g * perGroup..<(g + 1) * perGroup
                // Variance around the float32 centre, corrected for its distance from the exact mean.
                let offset = means[g] - Double(center[members.lowerBound])
                let variance = max(squares[members].reduce(0, +) / count - offset * offset, 0)
                let inverseStd = 1 / (variance + epsilon).squareRoot()
                for ch in members {
                    let a = Double(weight.data[ch]) * inverseStd
                    scale[ch] = Float(a)
                    shift[ch] = Float(Double(bias.data[ch]) - offset * a)
                }
            }
            lanes.normalize(input, into: result, channels: paddedChannels, center: center, scale: scale, shift: shift)
        }
    }
}

/// Walks a (batch item of a) feature map as SIMD8 vectors and knows which channel each lane holds:
/// with 8-channel blocks a vector is one position of 8 channels; with 16-channel blocks, vectors
/// alternate between the two halves of the block; contiguous planes fill every lane from one channel.
private struct LaneMap {
    let block: Int
    let plane: Int

    typealias Vector = SIMD8<Float>

    /// Per-channel sums of `x - center[c]`, or of its square, in float64.
    func channelSums(_ base: UnsafeMutablePointer<Float>, channels: Int, center: [Float], squared: Bool) -> [Double] {
        var result = [Double](repeating: 0, count: channels)
        center.withUnsafeBufferPointer { center in
            result.withUnsafeMutableBufferPointer { result in
                let centers = UncheckedSendable(center.baseAddress!), out = UncheckedSendable(result.baseAddress!)
                if block == 1 {
                    parallelFor(channels) { ch in
                        let sum = Self.reduce(base + ch * plane, floats: plane, center: Vector(repeating: centers.value[ch]), squared: squared)
                        out.value[ch] = (0..<8).reduce(0) { $0 + sum[$1] }
                    }
                } else {
                    // A task per channel block, all of whose 8-lane halves are summed in one sweep:
                    // each cache line of the map is read once.
                    let halves = block / 8
                    parallelFor(channels / block) { blockIndex in
                        let start = base + blockIndex * plane * block
                        let first = blockIndex * block
                        let centres = (0..<halves).map { half in Vector((0..<8).map { centers.value[first + half * 8 + $0] }) }
                        let sums = Self.reduce(start, positions: plane, halves: halves, centers: centres, squared: squared)
                        for half in 0..<halves { for lane in 0..<8 { out.value[first + half * 8 + lane] = sums[half][lane] } }
                    }
                }
            }
        }
        return result
    }

    /// Sums a contiguous run of `floats` values of one channel (a scalar tail after the last full vector).
    private static func reduce(
        _ start: UnsafeMutablePointer<Float>, floats: Int, center: Vector, squared: Bool
    ) -> SIMD8<Double> {
        var total = reduce(start, positions: floats / 8, halves: 1, centers: [center], squared: squared)[0]
        for i in floats / 8 * 8..<floats {
            let d = Double(start[i] - center[0])
            total[0] += squared ? d * d : d
        }
        return total
    }

    /// Per-lane sums over `positions` consecutive positions of `halves` (1 or 2) vectors each: a
    /// plane of one channel or of an 8-channel block (1), or of a 16-channel block (2), every cache
    /// line read once. Float32 partial sums over 64 positions, added up in float64.
    private static func reduce(
        _ start: UnsafeMutablePointer<Float>, positions: Int, halves: Int, centers: [Vector], squared: Bool
    ) -> [SIMD8<Double>] {
        precondition(halves == 1 || halves == 2 && centers.count == 2, "\(halves) vectors per position")
        var totals = (SIMD8<Double>(), SIMD8<Double>())
        let raw = UnsafeRawPointer(start)
        let step = halves * 8 * MemoryLayout<Float>.stride, secondHalf = 8 * MemoryLayout<Float>.stride
        let (c0, c1) = (centers[0], centers[halves - 1])
        var p = 0
        while p < positions {
            let end = min(p + 64, positions)
            var partial = (Vector(), Vector())
            while p < end {
                let d0 = raw.loadUnaligned(fromByteOffset: p * step, as: Vector.self) - c0
                partial.0 += squared ? d0 * d0 : d0
                if halves == 2 {
                    let d1 = raw.loadUnaligned(fromByteOffset: p * step + secondHalf, as: Vector.self) - c1
                    partial.1 += squared ? d1 * d1 : d1
                }
                p += 1
            }
            totals.0 += SIMD8<Double>(partial.0)
            totals.1 += SIMD8<Double>(partial.1)
        }
        return halves == 1 ? [totals.0] : [totals.0, totals.1]
    }

    /// `out = (x - center[c]) * scale[c] + shift[c]` for every stored element (padding lanes get 0).
    func normalize(
        _ input: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>, channels: Int,
        center: [Float], scale: [Float], shift: [Float]
    ) {
        let source = UncheckedSendable(input), destination = UncheckedSendable(output)
        let parameters = UncheckedSendable((center, scale, shift))
        if block == 1 {
            parallelFor(channels) { ch in
                let (m, a, b) = (parameters.value.0[ch], parameters.value.1[ch], parameters.value.2[ch])
                let src = source.value + ch * plane, dst = destination.value + ch * plane
                let vectors = plane / 8
                let mv = Vector(repeating: m), av = Vector(repeating: a), bv = Vector(repeating: b)
                for v in 0..<vectors {
                    let x = UnsafeRawPointer(src + v * 8).loadUnaligned(as: Vector.self)
                    UnsafeMutableRawPointer(dst + v * 8).storeBytes(of: (x - mv) * av + bv, as: Vector.self)
                }
                for i in vectors * 8..<plane { dst[i] = (src[i] - m) * a + b }
            }
        } else {
            // A task per channel block, all its halves in one sweep (each cache line read once).
            let halves = block / 8
            parallelFor(channels / block) { blockIndex in
                let offset = blockIndex * plane * block
                func lanes(_ values: [Float], _ half: Int) -> Vector { Vector((0..<8).map { values[blockIndex * block + half * 8 + $0] }) }
                let (m0, a0, b0) = (lanes(parameters.value.0, 0), lanes(parameters.value.1, 0), lanes(parameters.value.2, 0))
                let last = halves - 1
                let (m1, a1, b1) = (lanes(parameters.value.0, last), lanes(parameters.value.1, last), lanes(parameters.value.2, last))
                let src = UnsafeRawPointer(source.value + offset), dst = UnsafeMutableRawPointer(destination.value + offset)
                let step = block * MemoryLayout<Float>.stride, secondHalf = 8 * MemoryLayout<Float>.stride
                for p in 0..<plane {
                    let x0 = src.loadUnaligned(fromByteOffset: p * step, as: Vector.self)
                    dst.storeBytes(of: (x0 - m0) * a0 + b0, toByteOffset: p * step, as: Vector.self)
                    if halves == 2 {
                        let x1 = src.loadUnaligned(fromByteOffset: p * step + secondHalf, as: Vector.self)
                        dst.storeBytes(of: (x1 - m1) * a1 + b1, toByteOffset: p * step + secondHalf, as: Vector.self)
                    }
                }
            }
        }
    }
}
