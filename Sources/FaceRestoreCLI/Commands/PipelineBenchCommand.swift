import ArgumentParser
import Foundation
import ModelCatalog
import Imaging
import Restoration
import TensorCore

struct PipelineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Time a whole-photo restoration (detect, align, CodeFormer, ParseNet, paste-back, Real-ESRGAN) per stage.",
        discussion: """
            Models come from the models folder; any that is missing is replaced by full-size synthetic \
            weights from the fixture manifests (../shared/fixtures), so the figures hold for the official \
            files. Random detector weights find many meaningless faces, hence --only-center-face by \
            default (one face, as in "a one-face photo").
            """
    )

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    @Option(help: "The photo to restore.")
    var image = "../shared/fixtures/images/04.jpg"

    @Option(name: [.customShort("s"), .long], help: "Final upscaling.")
    var upscale = 2

    @Flag(inversion: .prefixedNo, help: "Keep only the centre face.")
    var onlyCenterFace = true

    @Flag(help: "Upsample the background with Real-ESRGAN x2plus.")
    var backgroundEnhance = false

    @Flag(help: "Upsample the restored faces with Real-ESRGAN x2plus.")
    var faceUpsample = false

    func run() throws {
        let files = ModelFiles(directory: models)
        let fixtures = "../shared/fixtures/"
        let manifests: [ModelFiles.Model: String] = [
            .codeformer: "codeformer/codeformer_full.manifest.json", .detectionResNet50: "facelib/retinaface_r50/manifest.json",
            .parsing: "facelib/parsenet/manifest.json", .realesrganX2plus: "realesrgan/x2plus_synth/manifest.json",
        ]
        var overrides: [ModelFiles.Model: URL] = [:]
        for (model, manifest) in manifests where files.locate(model) == nil {
            guard FileManager.default.fileExists(atPath: fixtures + manifest) else {
                throw ValidationError("\(model.fileName) is not installed and \(fixtures + manifest) is missing")
            }
            overrides[model] = URL(fileURLWithPath: fixtures + manifest)
        }
        var loaded: FaceRestorationModels!
        let load = Clock.measure { loaded = FaceRestorationModels.load(from: files, detector: .resnet50, overrides: overrides, precision: options.precision) }
        let pipeline = FaceRestorationPipeline(models: loaded)
        let photo = try ImageDecoder.decode(Data(contentsOf: URL(fileURLWithPath: image)))
        let request = RestorationOptions(upscale: upscale, backgroundEnhance: backgroundEnhance, faceUpsample: faceUpsample,
                                         onlyCenterFace: onlyCenterFace)
        try pipeline.checkModels(for: request)
        var last: RestorationResult?
        var failure: Error?
        var report = try options.measure(name: "pipeline \(photo.width)x\(photo.height) upscale \(upscale)", loadSeconds: load) {
            do { last = try pipeline.restore(photo, options: request) } catch { failure = error }
        }
        if let failure { throw failure }
        report.precision = options.precision.summary
        if let last { report.last_run_stages_s = Dictionary(last.timings.stages.map { ($0.name, $0.seconds) }, uniquingKeysWith: +) }
        report.print(json: options.json)
        if !options.json, let last {
            let networks = ["detect", "restore", "parse", "upsample background", "upsample faces"].compactMap { last.timings[$0] }.reduce(0, +)
            print("last run: \(last.facesFound) faces; \(last.timings.summary)")
            print(String(format: "networks %.2f s of %.2f s: whole request / networks = %.2f", networks, last.timings.total, last.timings.total / networks))
        }
    }
}
