package import TensorCore

/// Residual dense block (`ResidualDenseBlock` in sczhou/CodeFormer `basicsr/archs/rrdbnet_arch.py`):
/// five 3x3 convolutions, each seeing the block input concatenated with every earlier output;
/// LeakyReLU(0.2) after conv1-conv4; output `conv5(...) * 0.2 + x`.
package struct ResidualDenseBlock {
    package let conv1: Conv2d
    package let conv2: Conv2d
    package let conv3: Conv2d
    package let conv4: Conv2d
    package let conv5: Conv2d

    /// - Parameters:
    ///   - features: channels in and out of the block (`num_feat`).
    ///   - growChannels: outputs of conv1-conv4 (`num_grow_ch`).
    package init(_ p: ParameterScope, features: Int, growChannels: Int, algorithm: ConvAlgorithm) throws {
        func conv(_ name: String, _ k: Int, out: Int) throws -> Conv2d {
            try p.conv(name, inChannels: features + k * growChannels, outChannels: out, kernel: 3, padding: .symmetric(1), algorithm: algorithm)
        }
        conv1 = try conv("conv1", 0, out: growChannels)
        conv2 = try conv("conv2", 1, out: growChannels)
        conv3 = try conv("conv3", 2, out: growChannels)
        conv4 = try conv("conv4", 3, out: growChannels)
        conv5 = try conv("conv5", 4, out: features)
    }

    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard DenseFeatures.supports(x, growth: conv1.outChannels) else { return try concatenating(x) }
        let lrelu = FusedActivation.leakyReLU(RRDBNet.negativeSlope)
        let features = try DenseFeatures(x, capacity: conv5.inChannels, bfloat16: conv1.algorithm == .bfloat16)
        for conv in [conv1, conv2, conv3, conv4] { try features.append(conv, activation: lrelu) }
        // `x5 * 0.2 + x`, rounded in the same two steps as PyTorch.
        return try features.convolve(conv5, scaledBy: RRDBNet.residualScale, plus: x)
    }

    /// The same with a concatenation per layer, for maps `DenseFeatures` cannot hold (several
    /// images, or channel counts that are not whole blocks, as in the tiny test checkpoints).
    func concatenating(_ x: Tensor) throws -> Tensor {
        let lrelu = FusedActivation.leakyReLU(RRDBNet.negativeSlope)
        let x1 = try conv1(x, activation: lrelu)
        let x2 = try conv2(Tensor.concatenateChannels([x, x1]), activation: lrelu)
        let x3 = try conv3(Tensor.concatenateChannels([x, x1, x2]), activation: lrelu)
        let x4 = try conv4(Tensor.concatenateChannels([x, x1, x2, x3]), activation: lrelu)
        // `x5 * 0.2 + x`, rounded in the same two steps as PyTorch.
        return try conv5(Tensor.concatenateChannels([x, x1, x2, x3, x4])).scaled(by: RRDBNet.residualScale, plus: x)
    }
}

/// Residual in residual dense block (`RRDB` in sczhou/CodeFormer `basicsr/archs/rrdbnet_arch.py`):
/// three dense blocks in sequence, output `rdb3(rdb2(rdb1(x))) * 0.2 + x`.
package struct RRDB {
    package let rdb1: ResidualDenseBlock
    package let rdb2: ResidualDenseBlock
    package let rdb3: ResidualDenseBlock

    package init(_ p: ParameterScope, features: Int, growChannels: Int, algorithm: ConvAlgorithm) throws {
        rdb1 = try ResidualDenseBlock(p.scope("rdb1."), features: features, growChannels: growChannels, algorithm: algorithm)
        rdb2 = try ResidualDenseBlock(p.scope("rdb2."), features: features, growChannels: growChannels, algorithm: algorithm)
        rdb3 = try ResidualDenseBlock(p.scope("rdb3."), features: features, growChannels: growChannels, algorithm: algorithm)
    }

    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        try rdb3(rdb2(rdb1(x))).scaled(by: RRDBNet.residualScale, plus: x)
    }
}
