package import TensorCore

/// A ported network that `NetworkLoader` builds from a state dict by the official keys.
///
/// The initialiser takes every tensor it needs from `parameters` with its expected shape (a
/// missing or mis-shaped one throws `ModelLoadingError`); the loader then checks that nothing was
/// left over (`ParameterStore.verifyAllUsed`), so build through the loader, not the initialiser.
package protocol LoadableNetwork: AnyObject {
    /// - Parameters:
    ///   - algorithm: the convolution algorithm, normally `convolutionAlgorithm(for:)`'s choice.
    ///   - weights: the file the parameters came from, when there is one (CodeFormer reads its head
    ///     count from a sidecar beside a checkpoint).
    init(_ parameters: ParameterStore, algorithm: ConvAlgorithm, weights: WeightsFile?) throws

    /// The convolution algorithm the network runs with in `precision` on this CPU (measured per
    /// network; see each conformance).
    static func convolutionAlgorithm(for precision: ComputePrecision) -> ConvAlgorithm
}
