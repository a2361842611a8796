import Foundation

/// Fully connected layer (PyTorch `nn.Linear`): `y = x W^T + b` over the last dimension.
package struct Linear: Sendable {
    package let weight: Tensor  // (out, in)
    package let bias: Tensor?

    package init(weight: Tensor, bias: Tensor?) throws {
        precondition(weight.rank == 2, "linear weight must be 2-D, got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "linear bias \(bias.shape) for weight \(weight.shape)") }
        self.weight = try weight.contiguous()
        self.bias = try bias?.contiguous()
    }

    package var inFeatures: Int { weight.shape[1] }
    package var outFeatures: Int { weight.shape[0] }

    /// `x`: contiguous `(..., in)`; returns `(..., out)`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        let input = try x.contiguous()
        precondition(input.shape.last == inFeatures, "linear expects \(inFeatures) features, got \(x.shape)")
        let rows = input.elementCount / inFeatures
        let out = try Tensor(zeros: Array(input.shape.dropLast()) + [outFeatures])
        if let bias {
            for r in 0..<rows { (out.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        try Matmul.gemm(input.data, weight.data, transposeB: true, out.data,
                    m: rows, n: outFeatures, k: inFeatures, beta: bias == nil ? 0 : 1)
        return out
    }
}

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm`), statistics in float64.
package struct LayerNorm: Sendable {
    package let weight: Tensor
    package let bias: Tensor
    package let epsilon: Double

    package init(weight: Tensor, bias: Tensor, epsilon: Double = 1e-5) throws {
        precondition(weight.shape == bias.shape && weight.rank == 1, "layer norm parameters \(weight.shape) / \(bias.shape)")
        self.weight = try weight.contiguous()
        self.bias = try bias.contiguous()
        self.epsilon = epsilon
    }

    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        let input = try x.contiguous()
        let width = weight.shape[0]
        precondition(input.shape.last == width, "layer norm over \(width) got \(x.shape)")
        let rows = input.elementCount / width
        let out = try Tensor(uninitialized: input.shape)
        parallelFor(rows) { r in
            let src = input.data + r * width, dst = out.data + r * width
            var sum = 0.0
            for i in 0..<width { sum += Double(src[i]) }
            let mean = sum / Double(width)
            var squares = 0.0
            for i in 0..<width { let d = Double(src[i]) - mean; squares += d * d }
            let inverseStd = 1 / (squares / Double(width) + epsilon).squareRoot()
            for i in 0..<width {
                dst[i] = Float((Double(src[i]) - mean) * inverseStd) * weight.data[i] + bias.data[i]
            }
        }
        return out
    }
}

extension Tensor {
    /// Softmax over the last dimension, with float64 sums: in place when this handle is the only
    /// one to its storage, else on a copy first.
    package mutating func applySoftmaxLastDimension() throws {
        precondition(layout == .contiguous)
        try makeUnique()
        let data = self.data
        let width = shape.last!
        let rows = elementCount / width
        parallelFor(rows) { r in
            let row = data + r * width
            var maximum = -Float.infinity
            for i in 0..<width { maximum = max(maximum, row[i]) }
            var sum = 0.0
            for i in 0..<width {
                let e = Foundation.exp(row[i] - maximum)
                row[i] = e
                sum += Double(e)
            }
            let inverse = Float(1 / sum)
            for i in 0..<width { row[i] *= inverse }
        }
    }

    /// The transpose of a contiguous 2-D tensor.
    package func transposed2D() throws -> Tensor {
        precondition(rank == 2 && layout == .contiguous)
        let (r, c) = (shape[0], shape[1])
        let out = try Tensor(uninitialized: [c, r])
        for i in 0..<r { for j in 0..<c { out.data[j * r + i] = data[i * c + j] } }
        return out
    }
}
