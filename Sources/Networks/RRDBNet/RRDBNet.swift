package import TensorCore

/// Hyperparameters of an `RRDBNet`, all read from tensor shapes.
package struct RRDBNetConfiguration: Hashable, Sendable {
    /// Image channels the network takes (`num_in_ch`), before any pixel unshuffle.
    package let inChannels: Int
    /// Image channels it returns (`num_out_ch`).
    package let outChannels: Int
    /// `num_feat`: conv_first's outputs.
    package let features: Int
    /// `num_grow_ch`: outputs of the dense blocks' conv1-conv4 (0 when there are no blocks).
    package let growChannels: Int
    /// `num_block`: RRDBs in the trunk.
    package let blocks: Int
    /// Output size / input size: 4 (no unshuffle), 2 (unshuffle by 2) or 1 (unshuffle by 4).
    package let scale: Int

    package init(inChannels: Int, outChannels: Int, features: Int, growChannels: Int, blocks: Int, scale: Int) {
        (self.inChannels, self.outChannels, self.features) = (inChannels, outChannels, features)
        (self.growChannels, self.blocks, self.scale) = (growChannels, blocks, scale)
    }

    /// The pixel-unshuffle factor applied before conv_first (1 = none).
    package var unshuffleFactor: Int { 4 / scale }
}

/// Real-ESRGAN's generator (`RRDBNet` in sczhou/CodeFormer `basicsr/archs/rrdbnet_arch.py`; the
/// RealESRGAN_x4plus / x2plus models): optional pixel unshuffle, conv_first, a trunk of RRDBs with a
/// long skip through conv_body, two nearest x2 upsamplings each followed by a conv and LeakyReLU(0.2),
/// conv_hr + LeakyReLU, conv_last.
///
/// The scale is inferred like the official checkpoints imply it: conv_first sees
/// `num_in_ch * 4` channels for scale 2 and `num_in_ch * 16` for scale 1 (with `num_in_ch ==
/// num_out_ch`), anything else is scale 4.
package final class RRDBNet: @unchecked Sendable {
    package let configuration: RRDBNetConfiguration
    package let convFirst: Conv2d
    package let body: [RRDB]
    package let convBody: Conv2d
    package let convUp1: Conv2d
    package let convUp2: Conv2d
    package let convHR: Conv2d
    package let convLast: Conv2d

    /// Trunk blocks that run float32 even in reduced precision: an early block's error is carried
    /// and reshaped by every later one (x4plus's synthesised textures move most), a late one's is not.
    /// Three measured the least that keeps every fixture photo's centre crop at 50 dB or more against float32
    /// (README, "Reduced precision"); they are 13 % of the trunk's work.
    static let float32LeadingBlocks = 3

    static let negativeSlope: Float = 0.2
    static let residualScale: Float = 0.2

    /// - Parameter algorithm: the convolution algorithm for the trunk's layers (the others run its
    ///   float32 counterpart, see below); loaded networks get `convolutionAlgorithm(for:)`'s. Direct
    ///   and the tensor core's Winograd both meet the fixtures' float32 tolerances (their margins are
    ///   in the README, "Reduced precision").
    package init(_ store: ParameterStore, algorithm: ConvAlgorithm = .direct) throws {
        let p = store.scope("")
        let firstShape = try p.shape(of: "conv_first.weight")
        let lastShape = try p.shape(of: "conv_last.weight")
        guard firstShape.count == 4, lastShape.count == 4 else {
            throw ModelLoadingError.unsupportedArchitecture(file: store.source, reason: "conv_first / conv_last weights must be 4-D, are \(firstShape) / \(lastShape)")
        }
        let (features, convInChannels, outChannels) = (firstShape[0], firstShape[1], lastShape[0])
        let scale: Int
        if convInChannels == outChannels * 4 { scale = 2 } else if convInChannels == outChannels * 16 { scale = 1 } else { scale = 4 }
        let inChannels = convInChannels / ((4 / scale) * (4 / scale))

        // Reduced precision only in the trunk (after its first blocks, see `float32LeadingBlocks`),
        // where every block's output is scaled by 0.2 before it joins the residual stream. conv_first reads the image itself (bfloat16 keeps 8 bits: up
        // to half an 8-bit level off), conv_body adds to the long skip unscaled, and the upsampling
        // tail's errors reach the pixels directly: in bfloat16 they cost 10-15 dB of PSNR against
        // float32 for about 8 % of the work.
        func conv(_ name: String, in cin: Int, out cout: Int) throws -> Conv2d {
            try p.conv(name, inChannels: cin, outChannels: cout, kernel: 3, padding: .symmetric(1), algorithm: algorithm.float32Counterpart)
        }
        convFirst = try conv("conv_first", in: convInChannels, out: features)

        var blockCount = 0
        while store.contains("body.\(blockCount).rdb1.conv1.weight") { blockCount += 1 }
        let growChannels = blockCount > 0 ? try p.shape(of: "body.0.rdb1.conv1.weight")[0] : 0
        body = try (0..<blockCount).map {
            try RRDB(p.scope("body.\($0)."), features: features, growChannels: growChannels,
                     algorithm: $0 < Self.float32LeadingBlocks ? algorithm.float32Counterpart : algorithm)
        }
        convBody = try conv("conv_body", in: features, out: features)
        convUp1 = try conv("conv_up1", in: features, out: features)
        convUp2 = try conv("conv_up2", in: features, out: features)
        convHR = try conv("conv_hr", in: features, out: features)
        convLast = try conv("conv_last", in: features, out: outChannels)

        configuration = RRDBNetConfiguration(
            inChannels: inChannels, outChannels: outChannels, features: features,
            growChannels: growChannels, blocks: blockCount, scale: scale)
    }

    package var scale: Int { configuration.scale }

    /// `(1, C, H, W)` image in [0, 1] (RGB for the Real-ESRGAN models) -> the unclamped
    /// `(1, C_out, H*scale, W*scale)`, contiguous. For scale 2 (1) H and W must be even (multiples of 4).
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == configuration.inChannels, "RRDBNet expects (n, \(configuration.inChannels), h, w), got \(x.shape)")
        let factor = configuration.unshuffleFactor
        let input = factor > 1 ? try x.pixelUnshuffled(factor: factor) : x
        let first = try convFirst(input)
        var trunk = first
        for block in body { trunk = try block(trunk) }
        // `feat + conv_body(body(feat))`: no 0.2 factor on this long skip.
        return try upsampled(convBody(trunk) + first)
    }

    /// The tail at 2x and 4x the trunk's resolution, where a 400-pixel x4plus tile would need
    /// activations of ~0.9 GB each: run it on bands of trunk rows, each with `bandHalo` rows of
    /// context above and below, and keep only the band's own output rows. The tail's four 3x3
    /// convolutions see 1.25 trunk rows beyond a band, so 2 rows of halo make every kept row
    /// exactly what the whole map gives.
    func upsampled(_ feat: Tensor, bandRows: Int? = nil) throws -> Tensor {
        let lrelu = FusedActivation.leakyReLU(Self.negativeSlope)
        let (height, width) = (feat.shape[2], feat.shape[3])
        // Rows of trunk output per band: a 4x-resolution activation of at most ~32 MB (the halo
        // rows this adds are ~1 % of the work).
        let bandRows = bandRows ?? max(8, Self.bandBytes / (16 * width * configuration.features * MemoryLayout<Float>.stride))
        var outputs: [Tensor] = []
        for start in stride(from: 0, to: height, by: bandRows) {
            let end = min(height, start + bandRows)
            let (top, bottom) = (max(0, start - Self.bandHalo), min(height, end + Self.bandHalo))
            let band = top == 0 && bottom == height ? feat : try feat.rows(top..<bottom)
            var x = try convUp1(band.upsampledNearest(factor: 2), activation: lrelu)
            x = try convUp2(x.upsampledNearest(factor: 2), activation: lrelu)
            let out = try convLast(convHR(x, activation: lrelu))
            outputs.append(top == start && bottom == end ? out : try out.rows((start - top) * 4..<(end - top) * 4))
        }
        return outputs.count == 1 ? try outputs[0].contiguous() : try Tensor.concatenateRows(outputs)
    }

    static let bandHalo = 2
    static let bandBytes = 32 << 20
}

extension RRDBNet: LoadableNetwork {
    /// The tensor core's own Winograd in float32 (direct where it does not apply: conv_first,
    /// conv_last, CPUs without AVX-512). In reduced precision the same Winograd where it applies
    /// (faster than bfloat16 there), bfloat16 on the trunk's other layers (see `init`).
    package static func convolutionAlgorithm(for precision: ComputePrecision) -> ConvAlgorithm {
        precision.convolutionAlgorithm(.fusedWinograd)
    }

    /// Real-ESRGAN checkpoints as released (`RealESRGAN_x4plus.pth`, `RealESRGAN_x2plus.pth`:
    /// weights in `params_ema`) or any state dict of the same layout.
    package convenience init(_ parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile?) throws {
        try self.init(parameters, algorithm: algorithm)
    }
}
