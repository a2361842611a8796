package import TensorCore

/// One entry of the VQGAN encoder's or generator's `blocks` ModuleList.
package enum VQGANBlock {
    case conv(Conv2d)
    case res(ResBlock)
    case attn(AttnBlock)
    case down(Downsample)
    case up(Upsample)
    case norm(GroupNorm)

    /// Hand over the only handle to `x` (`block(consume x)`) to let residual and upsampling blocks
    /// free or overwrite it early.
    package func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        switch self {
        case .conv(let conv): try conv(x)
        case .res(let block): try block(consume x)
        case .attn(let block): try block(x)
        case .down(let block): try block(x)
        case .up(let block): try block(consume x)
        case .norm(let norm): try norm(x)  // the tail norm: no swish before the last conv
        }
    }

    var isResampling: Bool {
        switch self {
        case .down, .up: true
        default: false
        }
    }
}

/// The encoder (`Encoder`) or generator (`Generator`) of `vqgan_arch.py` as the plain sequence of
/// blocks the checkpoint lists under `<name>.blocks.<i>`. Each block's kind is read from its keys, so
/// the channel multipliers, residual-block counts and attention resolutions all follow the file.
package struct VQGANStack {
    package enum Kind { case encoder, generator }

    package let blocks: [VQGANBlock]

    package init(_ p: ParameterScope, kind: Kind, algorithm: ConvAlgorithm = .direct) throws {
        var indices = Set<Int>()
        for key in p.store.keys(under: p.prefix) {
            let rest = key.dropFirst(p.prefix.count)
            if let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) { indices.insert(i) }
        }
        guard let last = indices.max(), indices.count == last + 1 else {
            throw ModelLoadingError.unsupportedArchitecture(file: p.source, reason: "\(p.prefix)* blocks are not numbered 0..n")
        }
        var blocks: [VQGANBlock] = []
        for i in 0...last {
            let b = p.scope("\(i).")
            if b.contains("norm1.weight") {
                blocks.append(.res(try ResBlock(b, algorithm: algorithm)))
            } else if b.contains("q.weight") {
                blocks.append(.attn(try AttnBlock(b)))
            } else if b.contains("conv.weight") {
                blocks.append(kind == .encoder ? .down(try Downsample(b, algorithm: algorithm)) : .up(try Upsample(b, algorithm: algorithm)))
            } else if b.contains("weight"), try b.shape(of: "weight").count == 4 {
                blocks.append(.conv(try b.conv("", kernel: 3, padding: .symmetric(1), algorithm: algorithm)))
            } else if b.contains("weight") {
                let channels = try b.shape(of: "weight")[0]
                blocks.append(.norm(try b.groupNorm("", channels: channels, epsilon: ResBlock.groupNormEpsilon)))
            } else {
                throw ModelLoadingError.unsupportedArchitecture(file: p.source, reason: "cannot tell what \(p.prefix)\(i) is")
            }
        }
        self.blocks = blocks
    }

    /// Indices of the blocks right before each resampling block: where CodeFormer taps encoder
    /// features (`fuse_encoder_block`) for the encoder.
    package var indicesBeforeResampling: [Int] {
        blocks.indices.filter { $0 + 1 < blocks.count && blocks[$0 + 1].isResampling }
    }

    /// Indices of the first block after each resampling block: where CodeFormer fuses encoder
    /// features into the generator (`fuse_generator_block`).
    package var indicesAfterResampling: [Int] {
        blocks.indices.filter { $0 > 0 && blocks[$0 - 1].isResampling }
    }
}
