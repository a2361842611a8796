import Testing
import TensorCore
import TestSupport

@Suite struct ReflectionPaddingTests {
    /// `torch.nn.ReflectionPad2d(1)(torch.arange(12.).view(1, 1, 3, 4))`.
    @Test func matchesPyTorchOnASmallPlane() throws {
        let x = try Tensor(shape: [1, 1, 3, 4], values: (0..<12).map(Float.init))
        let out = try x.reflectionPadded(1)
        #expect(out.shape == [1, 1, 5, 6])
        #expect(out.toArray() == [
            5, 4, 5, 6, 7, 6,
            1, 0, 1, 2, 3, 2,
            5, 4, 5, 6, 7, 6,
            9, 8, 9, 10, 11, 10,
            5, 4, 5, 6, 7, 6,
        ])
    }

    /// Any pad, any layout: `out[c, y, x] = in[c, r(y - p, h), r(x - p, w)]`.
    @Test(arguments: [TensorLayout.contiguous, .channelBlocked(8), .channelBlocked(16)], [1, 2, 3])
    func matchesReferenceInEveryLayout(layout: TensorLayout, pad: Int) throws {
        let (n, c, h, w) = (2, 11, 5, 7)
        let values = randomValues(n * c * h * w, seed: 21)
        let out = try Tensor(shape: [n, c, h, w], values: values).withLayout(layout).reflectionPadded(pad)
        #expect(out.layout == layout)
        let (oh, ow) = (h + 2 * pad, w + 2 * pad)
        #expect(out.shape == [n, c, oh, ow])
        func r(_ i: Int, _ size: Int) -> Int { i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i) }
        var expected = [Float]()
        for b in 0..<n {
            for ch in 0..<c {
                for y in 0..<oh {
                    for x in 0..<ow { expected.append(values[((b * c + ch) * h + r(y - pad, h)) * w + r(x - pad, w)]) }
                }
            }
        }
        #expect(out.toArray() == expected)
    }
}
