import TensorCore

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
    package func callAsFunction(_ x: Tensor, position: Tensor) -> Tensor {
        let normed = norm1(x)
        let queryKey = normed + position
        let attended = attention(query: queryKey, key: queryKey, value: normed)
        let t = x + attended
        let hidden = linear1(norm2(t))
        hidden.applyInPlace(.geluErf)
        return t + linear2(hidden)
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
        func slice(_ i: Int) -> Linear {
            let weight = Tensor(zeros: [embedDim, embedDim])
            weight.data.update(from: packed.data + i * embedDim * embedDim, count: embedDim * embedDim)
            let bias = Tensor(zeros: [embedDim])
            bias.data.update(from: packedBias.data + i * embedDim, count: embedDim)
            return Linear(weight: weight, bias: bias)
        }
        queryProjection = slice(0)
        keyProjection = slice(1)
        valueProjection = slice(2)
        outProjection = try p.linear("out_proj", inFeatures: embedDim, outFeatures: embedDim)
    }

    /// Inputs `(tokens, embedDim)`; output `(tokens, embedDim)`.
    package func callAsFunction(query: Tensor, key: Tensor, value: Tensor) -> Tensor {
        let tokens = query.shape[0]
        let headDim = embedDim / heads
        let q = queryProjection(query), k = keyProjection(key), v = valueProjection(value)
        let concatenated = Tensor(zeros: [tokens, embedDim])
        let scale = 1 / Float(headDim).squareRoot()
        for h in 0..<heads {
            let scores = Tensor(zeros: [tokens, tokens])
            Matmul.gemm(q.data + h * headDim, k.data + h * headDim, transposeB: true, scores.data,
                        m: tokens, n: tokens, k: headDim, alpha: scale, lda: embedDim, ldb: embedDim)
            scores.softmaxLastDimensionInPlace()
            Matmul.gemm(scores.data, v.data + h * headDim, concatenated.data + h * headDim,
                        m: tokens, n: headDim, k: tokens, ldb: embedDim, ldc: embedDim)
        }
        return outProjection(concatenated)
    }
}
