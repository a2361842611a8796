import ArgumentParser
import Foundation
import TensorCore

/// One 3x3 layer shape under each algorithm, alternating, so that choosing an algorithm per layer
/// shape rests on a measurement taken under the same load.
struct ConvolutionBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convolution",
        abstract: "Time 3x3 convolution shapes (channel-blocked, fused LeakyReLU) under direct, oneDNN's Winograd, the tensor core's fused Winograd and bfloat16.",
        discussion: "Prints, per shape, the median milliseconds of each algorithm, oneDNN's implementation and the speed-up over direct. Default shapes: Real-ESRGAN's dense-block and trunk layers on a 400/40 tile's trunk."
    )

    @Option(parsing: .upToNextOption, help: "Shapes as in->out channels, e.g. 64x32 192x64.")
    var shapes: [String] = ["64x32", "96x32", "128x32", "160x32", "192x32", "192x64", "64x64"]

    @Option(help: "Side of the square input plane.")
    var size = 148

    @Option(help: "Timed runs per algorithm (alternating), median reported.")
    var runs = 9

    @Flag(help: "Without the fused LeakyReLU(0.2) (as Real-ESRGAN's conv5 and conv_body).")
    var noActivation = false

    func run() throws {
        var algorithms: [(String, ConvAlgorithm)] = [("direct", .direct), ("winograd", .winograd), ("fused winograd", .fusedWinograd)]
        if Conv2d.bfloat16Supported { algorithms.append(("bfloat16", .bfloat16)) }
        for shape in shapes {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("shape \(shape): expected in x out, e.g. 64x32") }
            let (inputs, outputs) = (parts[0], parts[1])
            let weight = try Tensor(shape: [outputs, inputs, 3, 3], values: (0..<outputs * inputs * 9).map { Float(($0 * 7919) % 2001) / 20000 - 0.05 })
            let bias = try Tensor(shape: [outputs], values: [Float](repeating: 0.01, count: outputs))
            let input = try Tensor(shape: [1, inputs, size, size], values: (0..<inputs * size * size).map { Float(($0 * 31) % 1001) / 1000 })
                .withLayout(.channelBlocked(Conv2d.activationBlock))
            let activation: FusedActivation = noActivation ? .none : .leakyReLU(0.2)
            let layers = try algorithms.map { try Conv2d(weight: weight, bias: bias, padding: 1, algorithm: $0.1) }
            for layer in layers { _ = try layer(input, activation: activation) }  // builds primitives, reorders weights
            var times = [[Double]](repeating: [], count: layers.count)
            for _ in 0..<runs {
                for (i, layer) in layers.enumerated() { times[i].append(try Clock.measure { _ = try layer(input, activation: activation) }) }
            }
            let medians = times.map { $0.sorted()[$0.count / 2] * 1000 }
            let line = zip(algorithms, zip(layers, medians)).map { named, measured in
                let implementation = (try? measured.0.implementation(forInputShape: input.shape, activation: activation)) ?? "?"
                return "\(named.0) \(String(format: "%.2f", measured.1)) ms (\(implementation), \(String(format: "%.2fx", medians[0] / measured.1)))"
            }.joined(separator: "; ")
            print("\(inputs)->\(outputs) on \(size)x\(size): \(line)")
        }
    }
}
