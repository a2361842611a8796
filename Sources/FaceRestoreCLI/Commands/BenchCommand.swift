import ArgumentParser
import Benchmarks
import Foundation
import ModelCatalog
import Imaging
import Networks
import Restoration
import TensorCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure network speed against this machine's sgemm, in one process.",
        subcommands: [CodeFormerBenchCommand.self, ParseNetBenchCommand.self, RetinaFaceBenchCommand.self, RealESRGANBenchCommand.self, PipelineBenchCommand.self, ConvolutionBenchCommand.self]
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
    /// Input megapixels per second (upscalers only).
    var megapixels_per_s: Double?
    /// Seconds per stage of the last run (`bench pipeline` only).
    var last_run_stages_s: [String: Double]?
    /// What each network ran in (`PrecisionSetting.summary`).
    var precision: String?

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
                load: \(String(format: "%.2f", load_s)) s, peak RSS: \(String(format: "%.0f", peak_rss_mb)) MB\
                \(megapixels_per_s.map { String(format: ", %.3g input MP/s", $0) } ?? "")
                """)
        }
    }
}

struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Timed runs after one warm-up run; the median is reported (0: report the warm-up run itself, e.g. for peak memory on big inputs).")
    var runs = 3

    @Flag(help: "Print the figures as one JSON object.")
    var json = false

    @OptionGroup var arithmetic: PrecisionOption

    var precision: PrecisionSetting { arithmetic.precision }

    /// Warm-up (which also counts the FLOPs), timed runs, then the same process's sgemm: measured
    /// last because OpenBLAS's threads keep spinning after it.
    func measure(name: String, loadSeconds: Double, _ forward: () throws -> Void) throws -> BenchReport {
        var flops = 0.0
        let warmUp = try Clock.measure { flops = try FlopCounter.measure { try forward() }.flops }  // builds primitives, reorders weights
        var times: [Double] = runs > 0 ? [] : [warmUp]
        for _ in 0..<runs { times.append(try Clock.measure(forward)) }
        times.sort()
        let median = times[times.count / 2]
        let sgemm = try KernelBenchmark.sgemmGFLOPs()
        let gflops = flops / median / 1e9
        return BenchReport(
            network: name, ms_median: median * 1000, gflop: flops / 1e9, gflops: gflops, sgemm_gflops: sgemm,
            ratio: gflops / sgemm, load_s: loadSeconds, peak_rss_mb: KernelBenchmark.peakResidentMegabytes(),
            runs: times.count)
    }
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
        let (network, loadSeconds) = try loadBenchmarkNetwork(
            CodeFormer.self, file: codeformer, installed: nil, models: nil,
            manifest: manifest ?? "../shared/fixtures/codeformer/codeformer_full.manifest.json", precision: options.precision.faceNetworks)
        let input = try Tensor(zeros: [1, 3, 512, 512])
        for i in 0..<input.elementCount { input.data[i] = Float((i * 7919) % 2001) / 1000 - 1 }
        let report = try options.measure(name: "codeformer", loadSeconds: loadSeconds) { _ = try network(input, w: fidelity) }
        report.print(json: options.json)
    }
}

struct RealESRGANBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realesrgan",
        abstract: "Time RealESRGANer.enhance (tiled) on a square test image.",
        discussion: """
            Without --model, <models>/RealESRGAN_x2plus.pth is used, else the fixture's synthetic x2plus \
            manifest (../shared/fixtures/realesrgan/x2plus_synth/manifest.json, or --manifest). Peak RSS \
            is bounded by the tile size, not the image size: compare --size 1024 with --size 2048.
            """
    )

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "A Real-ESRGAN checkpoint (x2plus or x4plus layout).")
    var model: String?

    @Option(help: "A synthetic-weights manifest of an RRDBNet.")
    var manifest: String?

    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    @Option(help: "Side of the square input image, in pixels.")
    var size = 1024

    @Option(help: "Tile size (0: whole image at once).")
    var tile = 400

    @Option(help: "Padding around each tile.")
    var tilePad = 40

    func run() throws {
        let (network, loadSeconds) = try loadBenchmarkNetwork(
            RRDBNet.self, file: model, installed: manifest == nil ? .realesrganX2plus : nil, models: models,
            manifest: manifest ?? "../shared/fixtures/realesrgan/x2plus_synth/manifest.json", precision: options.precision.upsampler)
        let upsampler = RealESRGANer(network: network, tile: tile, tilePad: tilePad, prePad: 0)
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: (i * 7919) >> 3) }
        let image = Image(width: size, height: size, channels: 3, pixels8: pixels)
        var report = try options.measure(name: "realesrgan x\(network.scale) \(size)x\(size)", loadSeconds: loadSeconds) {
            _ = try upsampler.enhance(image)
        }
        report.megapixels_per_s = Double(size * size) / 1e6 / (report.ms_median / 1000)
        report.precision = options.precision.upsamplerArithmetic
        report.print(json: options.json)
    }
}
