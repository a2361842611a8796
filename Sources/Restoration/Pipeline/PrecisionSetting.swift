package import TensorCore

/// The `--precision` setting (`FACERESTORE_PRECISION`): which arithmetic each network runs in.
///
/// The default follows the official demo, which runs the Real-ESRGAN upsampler in half precision
/// (`half=True` on a GPU) and everything else in float32: the upsampler is by far the slowest
/// network and its output (a background) tolerates bfloat16 (PSNR vs float32 in the README).
package enum PrecisionSetting: String, Sendable, CaseIterable {
    /// The default: the upsampler in bfloat16 where the CPU has the kernels; CodeFormer, ParseNet
    /// and the detector in float32.
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

    /// What each network really runs in on this CPU, for the start-up summary, e.g.
    /// `mixed: upsampler bfloat16, CodeFormer/ParseNet/detector float32`.
    package var summary: String {
        func effective(_ precision: ComputePrecision) -> String {
            precision == .bfloat16 && !Self.bfloat16Supported ? "float32 (no bfloat16 kernels on this CPU)" : precision.rawValue
        }
        return "\(rawValue): upsampler \(effective(upsampler)), CodeFormer/ParseNet/detector \(effective(faceNetworks))"
    }
}
