package import TensorCore

/// VQGAN single-head spatial self-attention (`AttnBlock` in `vqgan_arch.py`): 1x1-conv q, k, v over a
/// group-normalised map, softmax over keys scaled by `C^-1/2`, 1x1 `proj_out`, plus the input.
///
/// It runs at 16x16 only, so it works on plain `(C, HW)` matrices with GEMMs.
package struct AttnBlock {
    package let norm: GroupNorm
    package let q: Linear
    package let k: Linear
    package let v: Linear
    package let projOut: Linear

    package init(_ p: ParameterScope) throws {
        let channels = try p.shape(of: "q.weight")[0]
        norm = try p.groupNorm("norm", channels: channels, epsilon: ResBlock.groupNormEpsilon)
        func pointwise(_ name: String) throws -> Linear {
            let weight = try p.tensor(name + ".weight", shape: [channels, channels, 1, 1])
            return try Linear(weight: weight.contiguous().reshaped([channels, channels]),
                          bias: try p.tensor(name + ".bias", shape: [channels]))
        }
        q = try pointwise("q")
        k = try pointwise("k")
        v = try pointwise("v")
        projOut = try pointwise("proj_out")
    }

    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(n == 1, "AttnBlock runs on batch 1")
        let positions = h * w
        // Work position-major: rows are positions, so 1x1 convs are Linear layers.
        let hidden = try norm(x).contiguous().reshaped([c, positions]).transposed2D()  // (HW, C)
        let query = try q(hidden), key = try k(hidden), value = try v(hidden)
        var scores = try Tensor(zeros: [positions, positions])
        try Matmul.gemm(query.data, key.data, transposeB: true, scores.data,
                    m: positions, n: positions, k: c, alpha: 1 / Float(c).squareRoot())
        try scores.applySoftmaxLastDimension()
        let attended = try Tensor(zeros: [positions, c])
        try Matmul.gemm(scores.data, value.data, attended.data, m: positions, n: c, k: positions)
        let projected = try projOut(attended).transposed2D().reshaped([1, c, h, w])
        return try x + projected
    }
}
