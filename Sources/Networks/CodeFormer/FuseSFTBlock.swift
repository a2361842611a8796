package import TensorCore

/// Controllable feature transformation (`Fuse_sft_block` in `codeformer_arch.py`): from the encoder
/// feature and the decoder feature it predicts a scale and shift, and returns
/// `dec + w * (dec * scale + shift)`.
package struct FuseSFTBlock {
    package let encodeEnc: ResBlock
    package let scale: (Conv2d, Conv2d)
    package let shift: (Conv2d, Conv2d)

    package init(_ p: ParameterScope, algorithm: ConvAlgorithm = .direct) throws {
        encodeEnc = try ResBlock(p.scope("encode_enc."), algorithm: algorithm)
        let channels = encodeEnc.outChannels
        func branch(_ name: String) throws -> (Conv2d, Conv2d) {
            (try p.conv("\(name).0", inChannels: channels, outChannels: channels, kernel: 3, padding: .symmetric(1), algorithm: algorithm),
             try p.conv("\(name).2", inChannels: channels, outChannels: channels, kernel: 3, padding: .symmetric(1), algorithm: algorithm))
        }
        scale = try branch("scale")
        shift = try branch("shift")
    }

    package func callAsFunction(encoder: Tensor, decoder: Tensor, w: Float) throws -> Tensor {
        let e = try encodeEnc(Tensor.concatenateChannels([encoder, decoder]))
        let s = try scale.1(scale.0(e, activation: .leakyReLU(0.2)))
        let t = try shift.1(shift.0(e, activation: .leakyReLU(0.2)))
        let dec = try decoder.withLayout(s.layout)
        precondition(dec.layout == t.layout)
        let out = try Tensor(uninitialized: dec.shape, layout: dec.layout)
        let count = Tensor.storageCount(shape: dec.shape, layout: dec.layout)
        let (d, sp, tp, o) = (dec.data, s.data, t.data, out.data)
        parallelForChunks(count) { range in
            for i in range { o[i] = d[i] + w * (d[i] * sp[i] + tp[i]) }
        }
        return out
    }
}
