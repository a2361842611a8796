import ArgumentParser
import Foundation
import Networks
import TensorCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure network speed against this machine's sgemm, in one process.",
        subcommands: [CodeFormerBenchCommand.self]
    )
}

/// Figures every benchmark prints, also as one JSON object with `--json`.
struct BenchReport: Encodable {
    var network: String
    var ms_median: Double
    var gflop: Double
    var gflops: Double
    var sgemm_gflops: Double
    var ratio: Double
    var load_s: Double
    var peak_rss_mb: Double
    var runs: Int

    func print(json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try! encoder.encode(self), as: UTF8.self))
        } else {
            Swift.print("""
                \(network): \(String(format: "%.0f", ms_median)) ms median of \(runs) runs, \
                \(String(format: "%.1f", gflop)) GFLOP -> \(String(format: "%.1f", gflops)) GFLOP/s
                sgemm (same process): \(String(format: "%.1f", sgemm_gflops)) GFLOP/s, ratio \(String(format: "%.2f", ratio))
                load: \(String(format: "%.2f", load_s)) s, peak RSS: \(String(format: "%.0f", peak_rss_mb)) MB
                """)
        }
    }
}

struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Timed runs after one warm-up run; the median is reported.")
    var runs = 3

    @Flag(help: "Print the figures as one JSON object.")
    var json = false
}

struct CodeFormerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codeformer",
        abstract: "Time one CodeFormer forward pass on a 512x512 face.",
        discussion: """
            Without --codeformer, full-size synthetic weights are built from the fixture manifest \
            (../shared/fixtures/codeformer/codeformer_full.manifest.json, or --manifest).
            """
    )

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "A CodeFormer checkpoint (.pth or .safetensors) to benchmark.")
    var codeformer: String?

    @Option(help: "A synthetic-weights manifest for the full official configuration.")
    var manifest: String?

    @Option(help: "Fidelity weight w (0 skips the fusion blocks).")
    var fidelity: Float = 0.5

    func run() throws {
        var network: CodeFormer!
        let loadSeconds = try Clock.measure {
            if let codeformer {
                network = try CodeFormer(contentsOf: URL(fileURLWithPath: codeformer))
            } else {
                let path = manifest ?? "../shared/fixtures/codeformer/codeformer_full.manifest.json"
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ValidationError("No checkpoint given and no manifest at \(path); pass --codeformer or --manifest.")
                }
                network = try CodeFormer(syntheticManifest: URL(fileURLWithPath: path))
            }
        }
        let input = Tensor(zeros: [1, 3, 512, 512])
        for i in 0..<input.elementCount { input.data[i] = Float((i * 7919) % 2001) / 1000 - 1 }
        let report = measure(name: "codeformer", loadSeconds: loadSeconds) { _ = network(input, w: fidelity) }
        report.print(json: options.json)
    }

    func measure(name: String, loadSeconds: Double, _ forward: () -> Void) -> BenchReport {
        let (_, flops) = FlopCounter.measure { forward() }  // warm-up: builds primitives, reorders weights
        var times: [Double] = []
        for _ in 0..<max(1, options.runs) { times.append(Clock.measure(forward)) }
        times.sort()
        let median = times[times.count / 2]
        let sgemm = KernelBenchmark.sgemmGFLOPs()
        let gflops = flops / median / 1e9
        return BenchReport(
            network: name, ms_median: median * 1000, gflop: flops / 1e9, gflops: gflops, sgemm_gflops: sgemm,
            ratio: gflops / sgemm, load_s: loadSeconds, peak_rss_mb: KernelBenchmark.peakResidentMegabytes(),
            runs: times.count)
    }
}
