import TensorCore

extension ParameterScope {
    /// A bias-free convolution `<conv>.weight` followed by an eval-mode `nn.BatchNorm2d` at `<bn>`
    /// (eps 1e-5), folded into one `Conv2d` (computed in Float64, rounded once):
    /// `w' = w * g / sqrt(var + eps)`, `b' = (0 - mean) * g / sqrt(var + eps) + beta`.
    /// `num_batches_tracked` is consumed when present (it does not affect inference).
    ///
    /// - Parameter depthwise: the conv has `groups == channels` (weight `(C, 1, k, k)`); it is expanded
    ///   to an equivalent dense `(C, C, k, k)` weight with zeros off the diagonal, which adds exact zeros
    ///   to every sum (MobileNet-0.25 is small enough for that to be cheap).
    func convBatchNorm(
        conv: String, bn: String, inChannels: Int? = nil, outChannels: Int? = nil, kernel: Int,
        stride: Int = 1, padding: Int, depthwise: Bool = false, algorithm: ConvAlgorithm
    ) throws -> Conv2d {
        let weight = try tensor(Self.key(conv, "weight"),
                                shape: [outChannels, depthwise ? 1 : inChannels, kernel, kernel]).contiguous()
        let channels = weight.shape[0]
        if depthwise, let inChannels, inChannels != channels {
            throw ModelLoadingError.shapeMismatch(file: source, key: prefix + Self.key(conv, "weight"),
                                                  expected: [inChannels, 1, kernel, kernel], actual: weight.shape)
        }
        let gamma = try tensor(Self.key(bn, "weight"), shape: [channels]).toArray()
        let beta = try tensor(Self.key(bn, "bias"), shape: [channels]).toArray()
        let mean = try tensor(Self.key(bn, "running_mean"), shape: [channels]).toArray()
        let variance = try tensor(Self.key(bn, "running_var"), shape: [channels]).toArray()
        if contains(Self.key(bn, "num_batches_tracked")) { _ = try tensor(Self.key(bn, "num_batches_tracked")) }

        let perOutput = weight.elementCount / channels
        let kk = kernel * kernel
        let dense = depthwise ? channels * kk : perOutput
        var folded = [Float](repeating: 0, count: channels * dense)
        var bias = [Float](repeating: 0, count: channels)
        for o in 0..<channels {
            let factor = Double(gamma[o]) / (Double(variance[o]) + 1e-5).squareRoot()
            bias[o] = Float(-Double(mean[o]) * factor + Double(beta[o]))
            let base = depthwise ? o * dense + o * kk : o * dense
            for i in 0..<perOutput { folded[base + i] = Float(Double(weight.data[o * perOutput + i]) * factor) }
        }
        let shape = depthwise ? [channels, channels, kernel, kernel] : weight.shape
        return try Conv2d(weight: Tensor(shape: shape, values: folded), bias: Tensor(shape: [channels], values: bias),
                      stride: stride, padding: .symmetric(padding), algorithm: algorithm)
    }
}
