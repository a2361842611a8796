package import Testing
package import TensorCore

/// Compares a tensor with a fixture `.npy` under the max-abs and mean-abs bounds the fixture READMEs
/// state, records an issue when either is exceeded, and prints the margins so every run shows how
/// close each stage is to its tolerance.
package func expectMatchesFixture(
    _ actual: Tensor, _ fixture: String, maxAbs: Double, meanAbs: Double,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let expected = try NumpyArray(fixture: fixture)
    #expect(actual.shape == expected.shape, "\(fixture): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let closeness = Closeness(actual.toArray(), expected.floats, absolute: maxAbs)
    print("parity \(fixture): max abs \(closeness.maxAbs) (tolerance \(maxAbs)), mean abs \(closeness.meanAbs) (tolerance \(meanAbs))")
    #expect(closeness.within(maxAbs: maxAbs, meanAbs: meanAbs), "\(fixture): \(closeness)", sourceLocation: sourceLocation)
}
