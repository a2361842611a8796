import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct MatrixOpsTests {
    @Test func linearComputesXWTransposePlusBias() throws {
        let (rows, inF, outF) = (5, 7, 3)
        let x = randomValues(rows * inF, seed: 20), w = randomValues(outF * inF, seed: 21), b = randomValues(outF, seed: 22)
        let out = try Linear(weight: try Tensor(shape: [outF, inF], values: w), bias: try Tensor(shape: [outF], values: b))(try Tensor(shape: [rows, inF], values: x))
        var expected = [Float]()
        for r in 0..<rows { for o in 0..<outF {
            expected.append(Float((0..<inF).reduce(Double(b[o])) { $0 + Double(x[r * inF + $1]) * Double(w[o * inF + $1]) }))
        } }
        #expect(out.shape == [rows, outF])
        #expect(Closeness(out.toArray(), expected, absolute: 1e-5, relative: 1e-5).isClose)
    }

    @Test func layerNormNormalisesRows() throws {
        let x = randomValues(4 * 10, seed: 23)
        let gamma = randomValues(10, seed: 24), beta = randomValues(10, seed: 25)
        let out = try LayerNorm(weight: try Tensor(shape: [10], values: gamma), bias: try Tensor(shape: [10], values: beta))(try Tensor(shape: [4, 10], values: x)).toArray()
        for r in 0..<4 {
            let row = x[r * 10..<(r + 1) * 10].map(Double.init)
            let mean = row.reduce(0, +) / 10
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 10
            for i in 0..<10 {
                let y = (row[row.startIndex + i] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])
                #expect(abs(Double(out[r * 10 + i]) - y) < 1e-5)
            }
        }
    }

    @Test func softmaxRowsSumToOne() throws {
        var t = try Tensor(shape: [3, 50], values: randomValues(150, seed: 26, range: -20...20))
        try t.applySoftmaxLastDimension()
        let values = t.toArray()
        for r in 0..<3 { #expect(abs(values[r * 50..<(r + 1) * 50].reduce(0, +) - 1) < 1e-5) }
        #expect(values.allSatisfy { $0 >= 0 })
    }

    @Test func geluUsesTheErfForm() throws {
        let x: [Float] = [-3, -1, -0.5, 0, 0.5, 1, 3]
        let out = try Tensor(shape: [7], values: x).applying(.geluErf).toArray()
        for (v, y) in zip(x, out) {
            let expected = 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))
            #expect(abs(Double(y) - expected) < 1e-6)
        }
    }
}
