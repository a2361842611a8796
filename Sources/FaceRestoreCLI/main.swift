import TensorCore
import Foundation
import Dispatch

func time(_ f: () -> Void) -> Double { let t = DispatchTime.now().uptimeNanoseconds; f(); return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }
for (c, hw, alg) in [(64, 256, ConvAlgorithm.direct), (64, 256, .winograd), (3, 512, .direct), (256,64,.direct),(256,64,.winograd),(512,16,.direct)] {
    let cin = c, cout = c == 3 ? 64 : c
    let w = Tensor(shape: [cout, cin, 3, 3], values: (0..<(cout*cin*9)).map { _ in Float.random(in: -0.1...0.1) })
    let b = Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: -0.1...0.1) })
    let conv = Conv2d(weight: w, bias: b, padding: 1, algorithm: alg)
    var x = Tensor(shape: [1, cin, hw, hw], values: (0..<(cin*hw*hw)).map { _ in Float.random(in: -1...1) })
    if cin > 4 { x = x.withLayout(.channelBlocked(Conv2d.activationBlock)); print("block", Conv2d.activationBlock) }
    _ = conv(x)
    var best = 1e9
    for _ in 0..<5 { best = min(best, time { _ = conv(x) }) }
    print(c, hw, alg, try! conv.implementation(forInputShape: x.shape), String(format: "%.1f GFLOP/s", conv.flops(height: hw, width: hw) / best / 1e9))
}
do {
    let n = 2048
    let a = Tensor(shape: [n, n], values: (0..<(n*n)).map { _ in Float.random(in: -1...1) })
    let c = Tensor(zeros: [n, n])
    Matmul.gemm(a.data, a.data, c.data, m: n, n: n, k: n)
    var best = 1e9
    for _ in 0..<5 { best = min(best, time { Matmul.gemm(a.data, a.data, c.data, m: n, n: n, k: n) }) }
    print("sgemm", 2.0 * Double(n*n*n) / best / 1e9)
}
