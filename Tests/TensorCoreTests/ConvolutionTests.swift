import Testing
import TensorCore
import TestSupport

/// A direct float64 convolution to check oneDNN's against.
func referenceConvolution(
    _ x: [Float], shape: [Int], weight: [Float], weightShape: [Int], bias: [Float]?,
    stride: Int, padding: ConvPadding
) -> (values: [Float], shape: [Int]) {
    let (c, h, w) = (shape[1], shape[2], shape[3])
    let (o, kh, kw) = (weightShape[0], weightShape[2], weightShape[3])
    let oh = (h + padding.top + padding.bottom - kh) / stride + 1
    let ow = (w + padding.left + padding.right - kw) / stride + 1
    var out = [Float](repeating: 0, count: o * oh * ow)
    for oc in 0..<o {
        for y in 0..<oh {
            for xo in 0..<ow {
                var sum = Double(bias?[oc] ?? 0)
                for ic in 0..<c {
                    for ky in 0..<kh {
                        let iy = y * stride + ky - padding.top
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = xo * stride + kx - padding.left
                            if ix < 0 || ix >= w { continue }
                            sum += Double(x[(ic * h + iy) * w + ix]) * Double(weight[((oc * c + ic) * kh + ky) * kw + kx])
                        }
                    }
                }
                out[(oc * oh + y) * ow + xo] = Float(sum)
            }
        }
    }
    return (out, [1, o, oh, ow])
}

func randomValues(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [Float] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float.random(in: range, using: &generator) }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ConvolutionTests {
    @Test(arguments: [
        (3, 16, 3, 1, ConvPadding.symmetric(1)),      // image input, contiguous
        (32, 16, 3, 1, .symmetric(1)),
        (32, 48, 3, 2, ConvPadding(top: 0, left: 0, bottom: 1, right: 1)),  // VQGAN Downsample
        (24, 16, 1, 1, .symmetric(0)),
        (16, 3, 3, 1, .symmetric(1)),                  // image output
    ])
    func matchesReference(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvPadding) {
        let shape = [1, inChannels, 11, 13]
        let x = randomValues(shape.reduce(1, *), seed: 1)
        let weightShape = [outChannels, inChannels, kernel, kernel]
        let weight = randomValues(weightShape.reduce(1, *), seed: 2, range: -0.2...0.2)
        let bias = randomValues(outChannels, seed: 3)
        let conv = Conv2d(weight: Tensor(shape: weightShape, values: weight), bias: Tensor(shape: [outChannels], values: bias),
                          stride: stride, padding: padding)
        let out = conv(Tensor(shape: shape, values: x))
        let expected = referenceConvolution(x, shape: shape, weight: weight, weightShape: weightShape, bias: bias, stride: stride, padding: padding)
        #expect(out.shape == expected.shape)
        let closeness = Closeness(out.toArray(), expected.values, absolute: 1e-5, relative: 1e-5)
        #expect(closeness.isClose, "\(closeness)")
    }

    @Test func fusesActivationAndResidual() {
        let shape = [1, 16, 9, 7]
        let x = randomValues(shape.reduce(1, *), seed: 4)
        let weight = randomValues(16 * 16 * 9, seed: 5, range: -0.2...0.2)
        let residual = randomValues(shape.reduce(1, *), seed: 6)
        let conv = Conv2d(weight: Tensor(shape: [16, 16, 3, 3], values: weight), bias: nil, padding: 1)
        let input = Tensor(shape: shape, values: x)
        let plain = referenceConvolution(x, shape: shape, weight: weight, weightShape: [16, 16, 3, 3], bias: nil, stride: 1, padding: .symmetric(1)).values

        let leaky = conv(input, activation: .leakyReLU(0.2)).toArray()
        #expect(Closeness(leaky, plain.map { $0 > 0 ? $0 : 0.2 * $0 }, absolute: 1e-5, relative: 1e-5).isClose)

        let summed = conv(input, residual: Tensor(shape: shape, values: residual)).toArray()
        #expect(Closeness(summed, zip(plain, residual).map { $0 + $1 }, absolute: 1e-5, relative: 1e-5).isClose)
    }

    @Test func optimisedKernelIsChosen() throws {
        let conv = Conv2d(weight: Tensor(zeros: [64, 64, 3, 3]), bias: Tensor(zeros: [64]), padding: 1)
        let implementation = try conv.implementation(forInputShape: [1, 64, 32, 32])
        #expect(!implementation.hasPrefix("ref"), "oneDNN fell back to \(implementation)")
    }
}
