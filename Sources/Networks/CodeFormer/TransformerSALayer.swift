package import TensorCore

/// One pre-norm transformer layer of CodeFormer (`TransformerSALayer` in `codeformer_arch.py`):
/// `t += MHA(q = k = norm1(t) + pos, v = norm1(t))`, then `t += linear2(gelu(linear1(norm2(t))))`.
package struct TransformerSALayer {
    package let attention: MultiheadAttention
    package let linear1: Linear
    package let linear2: Linear
    package let norm1: LayerNorm
    package let norm2: LayerNorm

    package init(_ p: ParameterScope, embedDim: Int, heads: Int) throws {
        attention = try MultiheadAttention(p.scope("self_attn."), embedDim: embedDim, heads: heads)
        linear1 = try p.linear("linear1", inFeatures: embedDim)
        linear2 = try p.linear("linear2", inFeatures: linear1.outFeatures, outFeatures: embedDim)
        norm1 = try p.layerNorm("norm1", features: embedDim)
        norm2 = try p.layerNorm("norm2", features: embedDim)
    }

    /// - Parameters:
    ///   - x: `(tokens, embedDim)`.
    ///   - position: `(tokens, embedDim)`, added to queries and keys only.
    package func callAsFunction(_ x: Tensor, position: Tensor) throws -> Tensor {
        let normed = try norm1(x)
        let queryKey = try normed + position
        let attended = try attention(query: queryKey, key: queryKey, value: normed)
        let t = try x + attended
        var hidden = try linear1(norm2(t))
        try hidden.apply(.geluErf)
        return try t + linear2(hidden)
    }
}

/// `nn.MultiheadAttention` (batch_first=False, batch 1) with packed in-projection weights.
package struct MultiheadAttention {
    package let heads: Int
    package let embedDim: Int
    package let queryProjection: Linear
    package let keyProjection: Linear
    package let valueProjection: Linear
    package let outProjection: Linear

    package init(_ p: ParameterScope, embedDim: Int, heads: Int) throws {
        guard embedDim % heads == 0 else {
            throw ModelLoadingError.unsupportedArchitecture(file: p.source, reason: "embedding size \(embedDim) does not split into \(heads) heads")
        }
        self.heads = heads
        self.embedDim = embedDim
        let packed = try p.tensor("in_proj_weight", shape: [3 * embedDim, embedDim]).contiguous()
        let packedBias = try p.tensor("in_proj_bias", shape: [3 * embedDim]).contiguous()
        func slice(_ i: Int) throws -> Linear {
            let weight = try Tensor(zeros: [embedDim, embedDim])
            weight.data.update(from: packed.data + i * embedDim * embedDim, count: embedDim * embedDim)
            let bias = try Tensor(zeros: [embedDim])
            bias.data.update(from: packedBias.data + i * embedDim, count: embedDim)
            return try Linear(weight: weight, bias: bias)
        }
        queryProjection = try slice(0)
        keyProjection = try slice(1)
        valueProjection = try slice(2)
        outProjection = try p.linear("out_proj", inFeatures: embedDim, outFeatures: embedDim)
    }

    /// Inputs `(tokens, embedDim)`; output `(tokens, embedDim)`.
    package func callAsFunction(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
        let tokens = query.shape[0]
        let headDim = embedDim / heads
        let q = try queryProjection(query), k = try keyProjection(key), v = try valueProjection(value)
        let concatenated = try Tensor(zeros: [tokens, embedDim])
        let scale = 1 / Float(headDim).squareRoot()
        for h in 0..<heads {
            var scores = try Tensor(zeros: [tokens, tokens])
            try Matmul.gemm(q.data + h * headDim, k.data + h * headDim, transposeB: true, scores.data,
                        m: tokens, n: tokens, k: headDim, alpha: scale, lda: embedDim, ldb: embedDim)
            try scores.applySoftmaxLastDimension()
            try Matmul.gemm(scores.data, v.data + h * headDim, concatenated.data + h * headDim,
                        m: tokens, n: headDim, k: tokens, ldb: embedDim, ldc: embedDim)
        }
        return try outProjection(concatenated)
    }
}
