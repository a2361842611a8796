import Testing
import TensorCore

/// The feature-map ops added for RetinaFace: max pooling and PyTorch's legacy nearest resize.
@Suite struct PoolingAndResamplingTests {
    @Test func legacyNearestIndices() throws {
        // PyTorch: F.interpolate(arange(27), size=53, mode='nearest') picks floor(i * 27/53).
        let idx = Tensor.legacyNearestIndices(input: 27, output: 53)
        #expect(idx.count == 53 && idx[0] == 0 && idx[1] == 0 && idx[2] == 1 && idx[51] == 25 && idx[52] == 26)
        #expect(Tensor.legacyNearestIndices(input: 3, output: 6) == [0, 0, 1, 1, 2, 2])
        #expect(Tensor.legacyNearestIndices(input: 4, output: 4) == [0, 1, 2, 3])
        #expect(Tensor.legacyNearestIndices(input: 2, output: 5) == [0, 0, 0, 1, 1])
    }

    @Test func resizedNearestBothLayouts() throws {
        let values = (0..<(20 * 2 * 3)).map(Float.init)
        let x = try Tensor(shape: [1, 20, 2, 3], values: values)
        let plain = try x.resizedNearest(height: 3, width: 5)
        let blocked = try x.blocked().resizedNearest(height: 3, width: 5).contiguous()
        #expect(plain.shape == [1, 20, 3, 5])
        #expect(plain.toArray() == blocked.toArray())
        let rows = Tensor.legacyNearestIndices(input: 2, output: 3), cols = Tensor.legacyNearestIndices(input: 3, output: 5)
        let out = plain.toArray()
        for c in 0..<20 { for y in 0..<3 { for xx in 0..<5 {
            #expect(out[(c * 3 + y) * 5 + xx] == values[(c * 2 + rows[y]) * 3 + cols[xx]])
        } } }
    }

    @Test func maxPool3x3Stride2Pad1() throws {
        // 1 channel 4x5, values with negatives so the -inf padding matters.
        let values: [Float] = (0..<20).map { Float(($0 * 7) % 11) - 8 }
        let x = try Tensor(shape: [1, 1, 4, 5], values: values)
        let out = try x.maxPooled(kernel: 3, stride: 2, padding: 1)
        #expect(out.shape == [1, 1, 2, 3])
        var expected: [Float] = []
        for oy in 0..<2 { for ox in 0..<3 {
            var m = -Float.infinity
            for y in max(0, oy * 2 - 1)..<min(4, oy * 2 + 2) { for xx in max(0, ox * 2 - 1)..<min(5, ox * 2 + 2) { m = max(m, values[y * 5 + xx]) } }
            expected.append(m)
        } }
        #expect(out.toArray() == expected)
        let many = try Tensor(shape: [1, 19, 4, 5], values: (0..<(19 * 20)).map { Float(($0 * 13) % 17) - 9 })
        #expect(try many.maxPooled(kernel: 3, stride: 2, padding: 1).toArray() == many.blocked().maxPooled(kernel: 3, stride: 2, padding: 1).contiguous().toArray())
    }
}
