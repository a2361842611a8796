/// The arithmetic networks run their convolutions in.
package enum ComputePrecision: String, Sendable, CaseIterable {
    /// The default: float32 throughout, within the parity tolerances of the fixtures.
    case float32
    /// Opt-in: convolutions on bfloat16 inputs and weights with float32 sums (`ConvAlgorithm.bfloat16`)
    /// where the CPU has the kernels, float32 elsewhere. Faster, and slightly different results.
    case bfloat16

    /// The convolution algorithm for layers whose float32 choice is `float32Choice` (kept where the
    /// CPU has no bfloat16 kernels, so the mode then changes nothing). Winograd layers stay Winograd:
    /// as fast as bfloat16 and closer to exact.
    package func convolutionAlgorithm(_ float32Choice: ConvAlgorithm = .direct) -> ConvAlgorithm {
        guard self == .bfloat16 && Conv2d.bfloat16Supported else { return float32Choice }
        switch float32Choice {
        case .winograd: return .winogradOrBFloat16
        case .fusedWinograd: return .fusedWinogradOrBFloat16
        default: return .bfloat16
        }
    }
}
