import Testing
import TensorCore
import TestSupport

/// Operations that write in place do so only into storage no other handle shares (`Tensor`'s
/// promise): a shared tensor is copied first, a unique one is written where it is.
@Suite struct InPlaceOperationTests {
    static let values = randomValues(2 * 16 * 5 * 7, seed: 41)

    static func map() throws -> Tensor {
        try Tensor(shape: [2, 16, 5, 7], values: values)
    }

    @Test func scaleLeavesOtherHandlesAlone() throws {
        let original = try Self.map()
        var scaled = original
        try scaled.scale(by: 0.5)
        #expect(original.toArray() == Self.values, "the shared handle was written through")
        #expect(scaled.toArray() == Self.values.map { $0 * 0.5 })
        #expect(scaled.data != original.data)
    }

    @Test func scaleWritesAUniqueTensorInPlace() throws {
        var t = try Self.map()
        let buffer = t.data
        try t.scale(by: 2)
        #expect(t.data == buffer)
        #expect(t.toArray() == Self.values.map { $0 * 2 })
    }

    /// `y * 0.2 + x` in one pass: two roundings as in PyTorch, the residual matched to the map's
    /// layout, in place only in a unique map.
    @Test func scaledSumRoundsTwiceAndLeavesOtherHandlesAlone() throws {
        let original = try Self.map().withLayout(.channelBlocked(16))
        let residual = try Tensor(shape: [2, 16, 5, 7], values: randomValues(2 * 16 * 5 * 7, seed: 44))  // contiguous
        let expected = zip(Self.values, residual.toArray()).map { pair -> Float in
            let product = pair.0 * 0.2
            return product + pair.1
        }
        let shared = original
        #expect(try shared.scaled(by: 0.2, plus: residual).toArray() == expected)
        #expect(original.toArray() == Self.values, "the shared handle was written through")
        let unique = try Self.map().withLayout(.channelBlocked(16))
        let buffer = unique.data
        let sum = try (consume unique).scaled(by: 0.2, plus: residual)
        #expect(sum.data == buffer)
        #expect(sum.toArray() == expected)
    }

    @Test func activationLeavesOtherHandlesAlone() throws {
        let original = try Self.map().withLayout(.channelBlocked(8))
        var activated = original
        try activated.apply(.relu)
        #expect(original.toArray() == Self.values)
        #expect(activated.toArray() == Self.values.map { max($0, 0) })
        var unique = try Self.map()
        let buffer = unique.data
        try unique.apply(.relu)
        #expect(unique.data == buffer)
    }

    @Test func softmaxLeavesOtherHandlesAlone() throws {
        let original = try Tensor(shape: [4, 10], values: Array(Self.values.prefix(40)))
        var probabilities = original
        try probabilities.applySoftmaxLastDimension()
        #expect(original.toArray() == Array(Self.values.prefix(40)))
        let rows = probabilities.toArray()
        for r in 0..<4 { #expect(abs(rows[r * 10..<(r + 1) * 10].reduce(0, +) - 1) < 1e-5) }
    }

    @Test func groupNormLeavesOtherHandlesAlone() throws {
        let norm = try GroupNorm(groups: 4, epsilon: 1e-6, weight: Tensor(shape: [16], values: randomValues(16, seed: 42)),
                                 bias: Tensor(shape: [16], values: randomValues(16, seed: 43)))
        let original = try Self.map()
        var normalized = original
        try norm.normalize(&normalized, activation: .swish)
        #expect(original.toArray() == Self.values)
        #expect(normalized.toArray() == (try norm(original, activation: .swish)).toArray())
    }

    /// `accumulating(_:into:)` sums into the residual's storage only when it is handed over.
    @Test func accumulatingCopiesASharedResidual() throws {
        let conv = try Conv2d(weight: Tensor(shape: [16, 16, 3, 3], values: randomValues(16 * 16 * 9, seed: 44, range: -0.1...0.1)),
                              bias: nil, padding: 1)
        let x = try Self.map()
        let residual = try Tensor(shape: [2, 16, 5, 7], values: randomValues(2 * 16 * 5 * 7, seed: 45)).withLayout(.channelBlocked(Conv2d.activationBlock))
        let before = residual.toArray()
        let expected = try conv(x, residual: residual).toArray()
        let shared = try conv.accumulating(x, into: residual)
        #expect(residual.toArray() == before, "the caller's residual was written through")
        #expect(shared.toArray() == expected)
        #expect(shared.data != residual.data)

        var owned: Tensor? = try residual.copy()
        let buffer = owned!.data
        let summed = try conv.accumulating(x, into: owned.take()!)
        #expect(summed.data == buffer, "a handed-over residual is summed into in place")
        #expect(summed.toArray() == expected)
    }
}
