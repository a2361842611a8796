import TensorCore

extension ParameterScope {
    /// An eval-mode `nn.BatchNorm2d` at `bn` (eps 1e-5) folded into the bias-free convolution weight
    /// `weight` (`(C, ...)`), computed in Float64 and rounded once:
    /// `w' = w * g / sqrt(var + eps)`, `b' = beta - mean * g / sqrt(var + eps)`.
    /// `num_batches_tracked` is consumed when present (it does not affect inference). The one
    /// folding RetinaFace and ParseNet share.
    func foldingBatchNorm(_ bn: String, into weight: Tensor) throws -> (weight: Tensor, bias: Tensor) {
        let weight = try weight.contiguous()
        let channels = weight.shape[0]
        let gamma = try tensor(Self.key(bn, "weight"), shape: [channels]).toArray()
        let beta = try tensor(Self.key(bn, "bias"), shape: [channels]).toArray()
        let mean = try tensor(Self.key(bn, "running_mean"), shape: [channels]).toArray()
        let variance = try tensor(Self.key(bn, "running_var"), shape: [channels]).toArray()
        if contains(Self.key(bn, "num_batches_tracked")) { _ = try tensor(Self.key(bn, "num_batches_tracked")) }

        let perOutput = weight.elementCount / channels
        var folded = [Float](repeating: 0, count: weight.elementCount)
        var bias = [Float](repeating: 0, count: channels)
        for o in 0..<channels {
            let factor = Double(gamma[o]) / (Double(variance[o]) + Self.batchNormEpsilon).squareRoot()
            bias[o] = Float(Double(beta[o]) - Double(mean[o]) * factor)
            for i in 0..<perOutput { folded[o * perOutput + i] = Float(Double(weight.data[o * perOutput + i]) * factor) }
        }
        return (try Tensor(shape: weight.shape, values: folded), try Tensor(shape: [channels], values: bias))
    }

    /// `nn.BatchNorm2d`'s default epsilon, which every folded layer uses.
    static let batchNormEpsilon = 1e-5

    /// A bias-free convolution `<conv>.weight` followed by an eval-mode BatchNorm at `<bn>`, folded
    /// into one `Conv2d` (`foldingBatchNorm`).
    ///
    /// - Parameter depthwise: the conv has `groups == channels` (weight `(C, 1, k, k)`); it is expanded
    ///   to an equivalent dense `(C, C, k, k)` weight with zeros off the diagonal, which adds exact zeros
    ///   to every sum (MobileNet-0.25 is small enough for that to be cheap).
    func convBatchNorm(
        conv: String, bn: String, inChannels: Int? = nil, outChannels: Int? = nil, kernel: Int,
        stride: Int = 1, padding: Int, depthwise: Bool = false, algorithm: ConvAlgorithm
    ) throws -> Conv2d {
        let weight = try tensor(Self.key(conv, "weight"), shape: [outChannels, depthwise ? 1 : inChannels, kernel, kernel])
        let channels = weight.shape[0]
        if depthwise, let inChannels, inChannels != channels {
            throw ModelLoadingError.shapeMismatch(file: source, key: prefix + Self.key(conv, "weight"),
                                                  expected: [inChannels, 1, kernel, kernel], actual: weight.shape)
        }
        let (foldedWeight, bias) = try foldingBatchNorm(bn, into: weight)
        var folded = foldedWeight
        if depthwise {
            let kk = kernel * kernel
            let dense = try Tensor(zeros: [channels, channels, kernel, kernel])
            for o in 0..<channels {
                for i in 0..<kk { dense.data[(o * channels + o) * kk + i] = folded.data[o * kk + i] }
            }
            folded = dense
        }
        return try Conv2d(weight: folded, bias: bias, stride: stride, padding: .symmetric(padding), algorithm: algorithm)
    }
}
