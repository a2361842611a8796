/// Group normalisation (PyTorch `nn.GroupNorm`, affine) over a channel-blocked feature map.
///
/// Statistics are accumulated per channel in float64 (partial sums in float32 over short runs), then
/// combined per group, so the result is closer to an exact computation than PyTorch's own float32.
/// The normalisation itself is one fused multiply-add per element: `x * a[c] + b[c]`.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let epsilon: Double
    public let weight: Tensor
    public let bias: Tensor

    public init(groups: Int, epsilon: Double, weight: Tensor, bias: Tensor) {
        precondition(weight.shape == bias.shape && weight.rank == 1, "group norm parameters \(weight.shape) / \(bias.shape)")
        precondition(weight.shape[0] % groups == 0, "\(weight.shape[0]) channels do not split into \(groups) groups")
        self.groups = groups
        self.epsilon = epsilon
        self.weight = weight
        self.bias = bias
    }

    public var channels: Int { weight.shape[0] }

    /// Normalises `x`, then applies `activation` (fused: the swish in VQGAN blocks follows every norm but one).
    public func callAsFunction(_ x: Tensor, activation: Activation? = nil) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == channels, "group norm over \(channels) channels got \(x.shape)")
        let input = x.layout == .contiguous ? x.withLayout(.channelBlocked(Conv2d.activationBlock)) : x
        guard case .channelBlocked(let block) = input.layout else { preconditionFailure() }
        let (batch, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let plane = h * w
        let blocks = (c + block - 1) / block
        let output = Tensor(zeros: input.shape, layout: input.layout)
        let perGroup = c / groups

        for n in 0..<batch {
            let base = input.data + n * blocks * plane * block
            let outBase = output.data + n * blocks * plane * block
            // Two passes, both per channel: sums for the group means, then squares around those means.
            var sums = [Double](repeating: 0, count: blocks * block)
            var squares = [Double](repeating: 0, count: blocks * block)
            let zero = [Float](repeating: 0, count: blocks * block)
            accumulate(base, plane: plane, block: block, blocks: blocks, center: zero, into: &sums, squared: false)
            let count = Double(perGroup * plane)
            var means = [Double](repeating: 0, count: groups)
            var center = [Float](repeating: 0, count: blocks * block)
            for g in 0..<groups {
                means[g] = sums[g * perGroup..<(g + 1) * perGroup].reduce(0, +) / count
                for ch in g * perGroup..<(g + 1) * perGroup { center[ch] = Float(means[g]) }
            }
            accumulate(base, plane: plane, block: block, blocks: blocks, center: center, into: &squares, squared: true)
            // Per-channel scale and shift from the group statistics.
            var scale = [Float](repeating: 0, count: blocks * block)
            var shift = [Float](repeating: 0, count: blocks * block)
            for g in 0..<groups {
                let channels = g * perGroup..<(g + 1) * perGroup
                let centerValue = Double(center[channels.lowerBound])
                // Variance around the float32 centre, corrected for its distance from the exact mean.
                let offset = means[g] - centerValue
                let variance = max(squares[channels].reduce(0, +) / count - offset * offset, 0)
                let inverseStd = 1 / (variance + epsilon).squareRoot()
                for ch in channels {
                    let a = Double(weight.data[ch]) * inverseStd
                    scale[ch] = Float(a)
                    shift[ch] = Float(Double(bias.data[ch]) - means[g] * a)
                }
            }
            scale.withUnsafeBufferPointer { scale in
                shift.withUnsafeBufferPointer { shift in
                    let scaleBase = scale.baseAddress!, shiftBase = shift.baseAddress!
                    parallelFor(blocks) { cb in
                        let src = base + cb * plane * block, dst = outBase + cb * plane * block
                        let a = scaleBase + cb * block, b = shiftBase + cb * block
                        for p in 0..<plane {
                            let o = p * block
                            for l in 0..<block { dst[o + l] = src[o + l] * a[l] + b[l] }
                        }
                    }
                }
            }
        }
        if let activation { output.applyInPlace(activation) }
        return output
    }
}

/// Per-channel sums of `x - center[c]` (or of its square) over a channel-blocked map, accumulated in
/// float32 over runs of 64 positions and in float64 across runs.
private func accumulate(
    _ base: UnsafeMutablePointer<Float>, plane: Int, block: Int, blocks: Int,
    center: [Float], into result: inout [Double], squared: Bool
) {
    center.withUnsafeBufferPointer { center in
        result.withUnsafeMutableBufferPointer { result in
            let centerBase = center.baseAddress!, resultBase = result.baseAddress!
            parallelFor(blocks) { cb in
                let src = base + cb * plane * block
                let c = centerBase + cb * block
                let out = resultBase + cb * block
                let partial = UnsafeMutablePointer<Float>.allocate(capacity: block)
                defer { partial.deallocate() }
                var start = 0
                while start < plane {
                    let end = min(start + 64, plane)
                    for l in 0..<block { partial[l] = 0 }
                    if squared {
                        for p in start..<end {
                            let o = p * block
                            for l in 0..<block { let d = src[o + l] - c[l]; partial[l] += d * d }
                        }
                    } else {
                        for p in start..<end {
                            let o = p * block
                            for l in 0..<block { partial[l] += src[o + l] }
                        }
                    }
                    for l in 0..<block { out[l] += Double(partial[l]) }
                    start = end
                }
            }
        }
    }
}
