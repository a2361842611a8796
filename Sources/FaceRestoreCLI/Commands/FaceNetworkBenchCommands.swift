import ArgumentParser
import Foundation
import ModelCatalog
import Networks
import TensorCore
import Restoration

/// A deterministic test pattern in roughly the value range a network input has.
private func pattern(_ shape: [Int], scale: Float, offset: Float) throws -> Tensor {
    let input = try Tensor(zeros: shape)
    for i in 0..<input.elementCount { input.data[i] = Float((i * 7919) % 2001) / 2000 * scale + offset }
    return input
}

struct ParseNetBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parsenet",
        abstract: "Time one ParseNet forward pass on a 512x512 face (paste-back runs it once per face).",
        discussion: "Without --model or an installed parsing_parsenet.pth, synthetic weights from ../shared/fixtures/facelib/parsenet/manifest.json are used."
    )

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "A ParseNet checkpoint.")
    var model: String?

    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    func run() throws {
        let (network, load) = try loadBenchmarkNetwork(
            ParseNet.self, file: model, installed: .parsing, models: models,
            manifest: "../shared/fixtures/facelib/parsenet/manifest.json", precision: options.precision.faceNetworks)
        let input = try pattern([1, 3, 512, 512], scale: 2, offset: -1)
        try options.measure(name: "parsenet 512x512", loadSeconds: load) { _ = try network(input) }.print(json: options.json)
    }
}

struct RetinaFaceBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retinaface",
        abstract: "Time one RetinaFace forward pass on a 640x640 image (the detector input of a 512x512 photo).",
        discussion: "Without --model or an installed detection_Resnet50_Final.pth, synthetic ResNet-50 weights from ../shared/fixtures/facelib/retinaface_r50/manifest.json are used."
    )

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "A RetinaFace checkpoint (ResNet-50 or MobileNet-0.25).")
    var model: String?

    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    @Option(help: "Side of the square detector input, in pixels.")
    var size = 640

    func run() throws {
        let (network, load) = try loadBenchmarkNetwork(
            RetinaFace.self, file: model, installed: .detectionResNet50, models: models,
            manifest: "../shared/fixtures/facelib/retinaface_r50/manifest.json", precision: options.precision.faceNetworks)
        let input = try pattern([1, 3, size, size], scale: 255, offset: -117)
        try options.measure(name: "retinaface \(network.backbone.rawValue) \(size)x\(size)", loadSeconds: load) { _ = try network(input) }
            .print(json: options.json)
    }
}
