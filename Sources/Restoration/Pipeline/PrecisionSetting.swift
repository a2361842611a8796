package import TensorCore

/// The `--precision` setting (`FACERESTORE_PRECISION`): which arithmetic each network runs in.
///
/// The default follows the official demo, which runs the Real-ESRGAN upsampler in half precision
/// (`half=True` on a GPU) and everything else in float32: the upsampler is by far the slowest
/// network and its output (a background) tolerates bfloat16 (PSNR vs float32 in the README). Where
/// the tensor core's float32 Winograd runs the upsampler's layers (AVX-512), it is faster than
/// bfloat16 there and exact, so reduced precision gives way to it (`ConvAlgorithm.fusedWinogradOrBFloat16`).
package enum PrecisionSetting: String, Sendable, CaseIterable {
    /// The default: the upsampler in reduced precision where that is the fastest (bfloat16 on CPUs
    /// with its kernels but without float32 Winograd for the layer); CodeFormer, ParseNet and the
    /// detector in float32.
    case mixed
    /// Every network in float32: the official models' results, within the parity tolerances.
    case float32
    /// Every network in bfloat16 where the CPU has the kernels (opt-in).
    case bfloat16

    /// Real-ESRGAN (background and face upsampling).
    package var upsampler: ComputePrecision { self == .float32 ? .float32 : .bfloat16 }

    /// CodeFormer, ParseNet and RetinaFace.
    package var faceNetworks: ComputePrecision { self == .bfloat16 ? .bfloat16 : .float32 }

    /// Whether this CPU has the bfloat16 convolution kernels (else bfloat16 settings run float32):
    /// the capability callers above the pipeline (service, CLI) report.
    package static var bfloat16Supported: Bool { Conv2d.bfloat16Supported }

    /// What the upsampler really computes in on this CPU, for reports: float32 where its float32
    /// Winograd takes over from bfloat16 or the CPU has no bfloat16 kernels.
    package var upsamplerArithmetic: String {
        guard upsampler == .bfloat16 else { return "float32" }
        if Conv2d.fusedWinogradSupported { return "float32 (Winograd: faster than bfloat16 on this CPU)" }
        return Self.bfloat16Supported ? "bfloat16" : "float32 (no bfloat16 kernels on this CPU)"
    }

    /// What each network really runs in on this CPU, for the start-up summary, e.g.
    /// `mixed: upsampler float32 (Winograd: faster than bfloat16 on this CPU), CodeFormer/ParseNet/detector float32`.
    package var summary: String {
        let faces = faceNetworks == .bfloat16 && !Self.bfloat16Supported ? "float32 (no bfloat16 kernels on this CPU)" : faceNetworks.rawValue
        return "\(rawValue): upsampler \(upsamplerArithmetic), CodeFormer/ParseNet/detector \(faces)"
    }
}
