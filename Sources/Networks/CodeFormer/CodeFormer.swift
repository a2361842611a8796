import Foundation
package import TensorCore

/// CodeFormer (Zhou et al., NeurIPS 2022; `CodeFormer` in sczhou/CodeFormer
/// `basicsr/archs/codeformer_arch.py`): a VQGAN encoder, a transformer that predicts codebook
/// indices for the 16x16 latent, the codebook lookup (with adain), and the VQGAN generator with
/// controllable feature fusion from the encoder weighted by the fidelity `w`.
///
/// Every hyperparameter but the head count is read from tensor shapes; see `CodeFormerConfiguration`.
package final class CodeFormer: @unchecked Sendable {
    package let configuration: CodeFormerConfiguration
    package let positionEmbedding: Tensor
    package let encoder: VQGANStack
    package let codebook: Tensor
    package let generator: VQGANStack
    package let featureEmbedding: Linear
    package let transformerLayers: [TransformerSALayer]
    package let predictionNorm: LayerNorm
    package let predictionHead: Linear
    /// Keyed by spatial size ("32", "64", ...).
    package let fuseBlocks: [String: FuseSFTBlock]

    /// Encoder block index -> feature size it taps; generator block index -> size it fuses.
    let encoderTaps: [Int: String]
    let generatorFusions: [Int: String]

    /// What one forward pass produced, including the intermediate tensors the parity tests compare.
    package struct Output {
        /// `(1, 3, 512, 512)`, RGB in about [-1, 1], not clamped.
        package let image: Tensor
        /// `(1, 256, codebookSize)`: position-major logits.
        package let logits: Tensor
        /// `(1, 256, 16, 16)`: encoder output before quantisation.
        package let lqFeature: Tensor
        /// Code index per latent position.
        package let indices: [Int]
        /// `(1, 256, 16, 16)`: the generator input (codebook rows, after adain when requested).
        package let quantizedFeature: Tensor
        /// Encoder skip features by size.
        package let encoderFeatures: [String: Tensor]
    }

    /// Builds the network by the official keys; `NetworkLoader` builds it from a file and checks
    /// that every tensor was used.
    /// - Parameter algorithm: the convolution algorithm (`convolutionAlgorithm(for:)`).
    package init(_ store: ParameterStore, heads: Int = CodeFormerConfiguration.defaultHeads,
                algorithm: ConvAlgorithm = CodeFormer.convolutionAlgorithm(for: .float32)) throws {
        let p = store.scope("")
        positionEmbedding = try p.tensor("position_emb")
        guard positionEmbedding.rank == 2 else {
            throw ModelLoadingError.unsupportedArchitecture(file: store.source, reason: "position_emb must be 2-D, is \(positionEmbedding.shape)")
        }
        let (tokens, embedDim) = (positionEmbedding.shape[0], positionEmbedding.shape[1])
        encoder = try VQGANStack(p.scope("encoder.blocks."), kind: .encoder, algorithm: algorithm)
        codebook = try p.tensor("quantize.embedding.weight")
        let (codebookSize, codeDim) = (codebook.shape[0], codebook.shape[1])
        generator = try VQGANStack(p.scope("generator.blocks."), kind: .generator, algorithm: algorithm)
        featureEmbedding = try p.linear("feat_emb", inFeatures: codeDim, outFeatures: embedDim)
        var layers: [TransformerSALayer] = []
        while p.contains("ft_layers.\(layers.count).linear1.weight") {
            layers.append(try TransformerSALayer(p.scope("ft_layers.\(layers.count)."), embedDim: embedDim, heads: heads))
        }
        transformerLayers = layers
        predictionNorm = try p.layerNorm("idx_pred_layer.0", features: embedDim)
        predictionHead = try p.linear("idx_pred_layer.1", inFeatures: embedDim, outFeatures: codebookSize, bias: false)

        var fuse: [String: FuseSFTBlock] = [:]
        let fuseSizes = Set(store.keys(under: "fuse_convs_dict.").compactMap { $0.split(separator: ".").dropFirst().first.map(String.init) })
        for size in fuseSizes { fuse[size] = try FuseSFTBlock(p.scope("fuse_convs_dict.\(size)."), algorithm: algorithm) }
        fuseBlocks = fuse

        // Feature sizes along the encoder: the input is 512 and each Downsample halves it.
        let imageSize = CodeFormerConfiguration.imageSize
        var taps: [Int: String] = [:]
        var size = imageSize
        for (i, block) in encoder.blocks.enumerated() {
            if case .down = block { size /= 2 }
            if encoder.indicesBeforeResampling.contains(i), fuse["\(size)"] != nil { taps[i] = "\(size)" }
        }
        var fusions: [Int: String] = [:]
        size = imageSize >> encoder.blocks.filter(\.isResampling).count
        for (i, block) in generator.blocks.enumerated() {
            if case .up = block { size *= 2 }
            if generator.indicesAfterResampling.contains(i), fuse["\(size)"] != nil { fusions[i] = "\(size)" }
        }
        guard Set(taps.values) == fuseSizes, Set(fusions.values) == fuseSizes else {
            throw ModelLoadingError.unsupportedArchitecture(
                file: store.source, reason: "fuse blocks for sizes \(fuseSizes.sorted()) do not match the encoder/generator levels")
        }
        encoderTaps = taps
        generatorFusions = fusions
        let latentSide = imageSize >> encoder.blocks.filter(\.isResampling).count
        guard latentSide * latentSide == tokens else {
            throw ModelLoadingError.unsupportedArchitecture(file: store.source, reason: "position_emb has \(tokens) rows for a \(latentSide)x\(latentSide) latent")
        }
        configuration = CodeFormerConfiguration(
            embedDim: embedDim, heads: heads, layers: layers.count, codebookSize: codebookSize, codeDim: codeDim,
            connectList: fuseSizes.sorted { Int($0)! < Int($1)! }, latentSide: latentSide)
    }

    /// Restores one aligned face.
    /// - Parameters:
    ///   - input: `(1, 3, 512, 512)` RGB scaled to [-1, 1].
    ///   - w: fidelity weight in [0, 1]; 0 skips the fusion entirely, as upstream.
    ///   - adain: match the codebook features' channel statistics to the encoder's (the demo passes true).
    package func callAsFunction(_ input: Tensor, w: Float, adain: Bool = true) throws -> Output {
        let size = CodeFormerConfiguration.imageSize
        precondition(input.shape == [1, 3, size, size], "CodeFormer takes (1, 3, \(size), \(size)), got \(input.shape)")
        var x = input
        var skips: [String: Tensor] = [:]
        for (i, block) in encoder.blocks.enumerated() {
            x = try block(consume x)
            if let tap = encoderTaps[i] { skips[tap] = x }
        }
        let lqFeature = try x.contiguous()
        let latent = configuration.latentSide
        let tokens = latent * latent
        let codeDim = configuration.codeDim

        // Transformer over the latent positions (row-major), predicting a code per position.
        let features = try lqFeature.reshaped([codeDim, tokens]).transposed2D()
        var query = try featureEmbedding(features)
        for layer in transformerLayers { query = try layer(query, position: positionEmbedding) }
        let logits = try predictionHead(predictionNorm(query))
        let codebookSize = configuration.codebookSize
        var indices = [Int](repeating: 0, count: tokens)
        for t in 0..<tokens {
            let row = logits.data + t * codebookSize
            var best = 0
            for c in 1..<codebookSize where row[c] > row[best] { best = c }
            indices[t] = best
        }

        // Codebook lookup: rows gathered into (1, codeDim, 16, 16).
        let quantized = try Tensor(zeros: [1, codeDim, latent, latent])
        for t in 0..<tokens {
            let row = codebook.data + indices[t] * codeDim
            for c in 0..<codeDim { quantized.data[c * tokens + t] = row[c] }
        }
        let generatorInput = adain ? try Self.adaptiveInstanceNormalization(content: quantized, style: lqFeature) : quantized

        x = generatorInput
        for (i, block) in generator.blocks.enumerated() {
            x = try block(consume x)
            if w > 0, let size = generatorFusions[i], let fuse = fuseBlocks[size], let skip = skips[size] {
                x = try fuse(encoder: skip, decoder: x, w: w)
            }
        }
        return Output(
            image: try x.contiguous(), logits: logits.reshaped([1, tokens, codebookSize]), lqFeature: lqFeature,
            indices: indices, quantizedFeature: generatorInput, encoderFeatures: skips)
    }

    /// `adaptive_instance_normalization` of `codeformer_arch.py`: per channel, content normalised by
    /// its mean and `sqrt(unbiased variance + 1e-5)`, then given the style's.
    static func adaptiveInstanceNormalization(content: Tensor, style: Tensor) throws -> Tensor {
        let (c, positions) = (content.shape[1], content.shape[2] * content.shape[3])
        let out = try Tensor(zeros: content.shape)
        func moments(_ p: UnsafeMutablePointer<Float>) -> (mean: Double, std: Double) {
            var sum = 0.0
            for i in 0..<positions { sum += Double(p[i]) }
            let mean = sum / Double(positions)
            var squares = 0.0
            for i in 0..<positions { let d = Double(p[i]) - mean; squares += d * d }
            return (mean, (squares / Double(positions - 1) + 1e-5).squareRoot())
        }
        for ch in 0..<c {
            let src = content.data + ch * positions, sty = style.data + ch * positions, dst = out.data + ch * positions
            let a = moments(src), b = moments(sty)
            for i in 0..<positions { dst[i] = Float((Double(src[i]) - a.mean) / a.std * b.std + b.mean) }
        }
        return out
    }
}

extension CodeFormer: LoadableNetwork {
    // Convolutions must sum in an order as accurate as the reference's. oneDNN's AVX2 direct
    // kernels do not: the encoder missed the lq_feat tolerance and the generator changed 0.11 % of
    // output bytes (the fixture allows 0.1 %; the reference's own float64 run changes 0.025 %),
    // so there the im2col order (`ConvAlgorithm.gemm`) is used. With AVX-512 (16-channel blocks)
    // the 3x3 layers of up to 256 x 128 channels on planes of 64 x 64 and more run Winograd
    // F(4x4, 3x3) (see `ConvAlgorithm`), the rest oneDNN's direct kernels: every CodeFormer
    // tolerance holds (full model: output max abs 1.3e-4 of 1e-3) at 1.5-1.8 s per face instead
    // of ~2.25 s all-direct and 4.3 s im2col.
    package static func convolutionAlgorithm(for precision: ComputePrecision) -> ConvAlgorithm {
        precision.convolutionAlgorithm(Conv2d.activationBlock == 16 ? .winograd : .gemm)
    }

    /// The head count comes from a sidecar JSON next to a checkpoint when there is one
    /// (`CodeFormerConfiguration.sidecarHeads`), else the official 8.
    package convenience init(_ parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile?) throws {
        var heads = CodeFormerConfiguration.defaultHeads
        if case .checkpoint(let url)? = weights, let sidecar = CodeFormerConfiguration.sidecarHeads(for: url) { heads = sidecar }
        try self.init(parameters, heads: heads, algorithm: algorithm)
    }
}
