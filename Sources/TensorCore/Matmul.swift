import CDNNL

/// Row-major single-precision matrix products.
///
/// They run in oneDNN's GEMM, on the same OpenMP threads as the convolutions: a second thread pool
/// (OpenBLAS's) spinning beside oneDNN's halved convolution speed on two cores.
package enum Matmul {
    /// `C = alpha * op(A) * op(B) + beta * C`, all row-major. `op` transposes when the flag is set.
    /// Shapes: op(A) is m x k, op(B) is k x n, C is m x n.
    package static func gemm(
        _ a: UnsafePointer<Float>, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, transposeB: Bool = false,
        _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) throws {
        FlopCounter.add(2 * Double(m) * Double(n) * Double(k))
        let status = dnnl_sgemm(
            transposeA ? 84 : 78, transposeB ? 84 : 78,  // "T" / "N"
            dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha,
            a, dnnl_dim_t(lda ?? (transposeA ? m : k)),
            b, dnnl_dim_t(ldb ?? (transposeB ? k : n)),
            beta, c, dnnl_dim_t(ldc ?? n))
        try DNNL.check(status, "sgemm \(m)x\(n)x\(k)", shape: [m, n, k], executing: true)
    }
}
