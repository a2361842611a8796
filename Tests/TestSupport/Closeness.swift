package import TensorCore

/// Element-wise comparison of two float arrays: the maximum and mean absolute difference, and
/// whether every element satisfies `|a - b| <= absolute + relative * |b|`.
package struct Closeness: CustomStringConvertible, Sendable {
    package let maxAbs: Double
    package let meanAbs: Double
    package let worstIndex: Int
    package let violations: Int
    package let count: Int

    package init(_ actual: [Float], _ expected: [Float], absolute: Double, relative: Double = 0) {
        precondition(actual.count == expected.count, "comparing \(actual.count) with \(expected.count) values")
        var maxAbs = 0.0, sum = 0.0, worst = 0, violations = 0
        for i in 0..<actual.count {
            let a = Double(actual[i]), b = Double(expected[i])
            let d = a.isNaN || b.isNaN ? .infinity : abs(a - b)
            sum += d
            if d > maxAbs { maxAbs = d; worst = i }
            if d > absolute + relative * abs(b) { violations += 1 }
        }
        self.maxAbs = maxAbs
        self.meanAbs = actual.isEmpty ? 0 : sum / Double(actual.count)
        self.worstIndex = worst
        self.violations = violations
        self.count = actual.count
    }

    package init(_ actual: Tensor, _ expected: Tensor, absolute: Double, relative: Double = 0) {
        precondition(actual.shape == expected.shape, "shape \(actual.shape) vs \(expected.shape)")
        self.init(actual.toArray(), expected.toArray(), absolute: absolute, relative: relative)
    }

    /// True when every element is within the absolute + relative bound.
    package var isClose: Bool { violations == 0 }

    /// True when within both a max-abs and a mean-abs bound, the form the fixture READMEs state.
    package func within(maxAbs maxBound: Double, meanAbs meanBound: Double) -> Bool {
        maxAbs <= maxBound && meanAbs <= meanBound
    }

    package var description: String {
        "max abs \(maxAbs) at \(worstIndex), mean abs \(meanAbs), \(violations)/\(count) outside tolerance"
    }
}
