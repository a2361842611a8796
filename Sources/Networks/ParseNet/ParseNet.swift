import Foundation
package import TensorCore

/// The face-parsing network of CodeFormer's paste-back (`ParseNet(in_size=512, out_size=512,
/// parsing_ch=19)` in sczhou/CodeFormer `facelib/parsing/parsenet.py`, release file
/// `parsing_parsenet.pth`, a flat state dict).
///
/// `encoder.0` = ConvLayer(3 -> 64) without BN/activation, `encoder.1...4` = down residual blocks
/// (64 -> 128 -> 256 -> 256 -> 256, /16), `body.0...` = residual blocks at 256 channels with a long
/// skip (`feat + body(feat)`), `decoder.0...3` = up residual blocks (256 -> 256 -> 256 -> 128 -> 64),
/// then `out_mask_conv` (19 parsing logits) and `out_img_conv` (3 channels), plain convs with bias.
package final class ParseNet: @unchecked Sendable {
    package let encoder0: ParseNetConvLayer
    package let encoder: [ParseNetResidualBlock]
    package let body: [ParseNetResidualBlock]
    package let decoder: [ParseNetResidualBlock]
    package let outMaskConv: ParseNetConvLayer
    package let outImgConv: ParseNetConvLayer

    package static let inChannels = 3
    package static let baseChannels = 64
    package static let encoderChannels = [64, 128, 256, 256, 256]
    package static let decoderChannels = [256, 256, 256, 128, 64]
    /// Input sides must be multiples of this (four stride-2 stages).
    package static let sizeMultiple = 16

    package let parsingChannels: Int

    /// - Parameter algorithm: the convolution algorithm for every layer. All of them meet the
    ///   fixture tolerance (logits max abs <= 1e-3) with a wide margin; the argmax flips they cause
    ///   are at near-ties. A forward pass at 512 x 512 is about 470 GFLOP; the pipeline uses
    ///   `.winograd` on AVX-512 (timings in the README).
    package init(_ store: ParameterStore, algorithm: ConvAlgorithm = .direct) throws {
        let p = store.scope("")
        encoder0 = try ParseNetConvLayer(
            p.scope("encoder.0."), inChannels: Self.inChannels, outChannels: Self.baseChannels, scale: .none,
            normalized: false, activated: false, algorithm: algorithm)
        let enc = Self.encoderChannels
        encoder = try (1..<enc.count).map {
            try ParseNetResidualBlock(p.scope("encoder.\($0)."), inChannels: enc[$0 - 1], outChannels: enc[$0], scale: .down, algorithm: algorithm)
        }
        var depth = 0
        while store.contains("body.\(depth).conv1.conv2d.weight") { depth += 1 }
        let bodyChannels = enc[enc.count - 1]
        body = try (0..<depth).map {
            try ParseNetResidualBlock(p.scope("body.\($0)."), inChannels: bodyChannels, outChannels: bodyChannels, scale: .none, algorithm: algorithm)
        }
        let dec = Self.decoderChannels
        decoder = try (1..<dec.count).map {
            try ParseNetResidualBlock(p.scope("decoder.\($0 - 1)."), inChannels: dec[$0 - 1], outChannels: dec[$0], scale: .up, algorithm: algorithm)
        }
        let last = dec[dec.count - 1]
        parsingChannels = try p.shape(of: "out_mask_conv.conv2d.weight").first ?? 0
        outMaskConv = try ParseNetConvLayer(
            p.scope("out_mask_conv."), inChannels: last, outChannels: parsingChannels, scale: .none,
            normalized: false, activated: false, algorithm: algorithm)
        outImgConv = try ParseNetConvLayer(
            p.scope("out_img_conv."), inChannels: last, outChannels: 3, scale: .none,
            normalized: false, activated: false, algorithm: algorithm)
    }

    /// `(1, 3, H, W)` RGB in [-1, 1] (H, W multiples of 16; 512 x 512 in the pipeline) ->
    /// `(mask: (1, 19, H, W) parsing logits, image: (1, 3, H, W))`, both contiguous.
    package func callAsFunction(_ x: Tensor) throws -> (mask: Tensor, image: Tensor) {
        precondition(x.rank == 4 && x.shape[1] == Self.inChannels, "ParseNet expects (n, 3, h, w), got \(x.shape)")
        precondition(x.shape[2] % Self.sizeMultiple == 0 && x.shape[3] % Self.sizeMultiple == 0,
                     "ParseNet needs sides that are multiples of \(Self.sizeMultiple), got \(x.shape)")
        var feat = try encoder0(x)
        for block in encoder { feat = try block(consume feat) }
        var trunk = feat
        for block in body { trunk = try block(trunk) }
        var y = try feat + trunk
        for block in decoder { y = try block(consume y) }
        return (try outMaskConv(y).contiguous(), try outImgConv(y).contiguous())
    }
}

extension ParseNet: LoadableNetwork {
    /// Winograd in float32 where the CPU has its kernels (see `init`).
    package static func convolutionAlgorithm(for precision: ComputePrecision) -> ConvAlgorithm {
        precision.convolutionAlgorithm(.winograd)
    }

    /// `parsing_parsenet.pth` as released (a flat state dict) or any file of the same layout.
    package convenience init(_ parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile?) throws {
        try self.init(parameters, algorithm: algorithm)
    }
}
