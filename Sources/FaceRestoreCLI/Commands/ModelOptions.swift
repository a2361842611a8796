import ArgumentParser
import Foundation
import ModelCatalog
import Networks
import Restoration
import Service
import TensorCore

/// The models folder alone: what `serve` and `models` need.
struct ModelsFolderOption: ParsableArguments {
    @Option(help: ArgumentHelp("Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).", valueName: "dir"))
    var models: String?

    var files: ModelFiles { ModelFiles(directory: models) }
}

/// The arithmetic the networks run in; shared by every command that runs one.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(ServiceSetting.precision.summary))
    var precision: PrecisionSetting = .mixed
}

/// Where model files come from; shared by every command that loads a network.
struct ModelOptions: ParsableArguments {
    @OptionGroup var folder: ModelsFolderOption

    @Option(help: "A CodeFormer checkpoint (.pth or .safetensors) to use instead of <models>/codeformer.pth; a synthetic-weights manifest (.json) also works, for testing.")
    var codeformer: String?

    @Option(help: "A RetinaFace checkpoint to use instead of <models>/detection_Resnet50_Final.pth (either backbone; a .json manifest also works).")
    var detectionModel: String?

    @Option(help: "A ParseNet checkpoint to use instead of <models>/parsing_parsenet.pth (a .json manifest also works).")
    var parsingModel: String?

    @Option(help: "A Real-ESRGAN x2plus checkpoint to use instead of <models>/RealESRGAN_x2plus.pth (a .json manifest also works).")
    var realesrganModel: String?

    @Option(help: "Face detector: resnet50 (the demo's), mobilenet (detection_mobilenet0.25_Final.pth, smaller and faster) or automatic (ResNet-50 when its file is present).")
    var detector: FaceRestorationModels.DetectorChoice = .automatic

    @OptionGroup var arithmetic: PrecisionOption

    var precision: PrecisionSetting { arithmetic.precision }

    var models: String? { folder.models }

    var files: ModelFiles { folder.files }

    func validate() throws {
        for (flag, path) in [("--codeformer", codeformer), ("--detection-model", detectionModel), ("--parsing-model", parsingModel),
                             ("--realesrgan-model", realesrganModel)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(flag): no file at \(path)") }
        }
    }

    /// The files given on the command line instead of the official names.
    var overrides: [ModelFiles.Model: URL] {
        var result: [ModelFiles.Model: URL] = [:]
        result[.codeformer] = codeformer.map { URL(fileURLWithPath: $0) }
        result[detector == .mobilenet ? .detectionMobileNet : .detectionResNet50] = detectionModel.map { URL(fileURLWithPath: $0) }
        result[.parsing] = parsingModel.map { URL(fileURLWithPath: $0) }
        result[.realesrganX2plus] = realesrganModel.map { URL(fileURLWithPath: $0) }
        return result
    }

    /// Every model, missing ones recorded rather than fatal (the pipeline reports them when needed).
    func loadModels() -> FaceRestorationModels {
        FaceRestorationModels.load(from: files, detector: detector, overrides: overrides, precision: precision)
    }
}

extension FaceRestorationModels.DetectorChoice: ExpressibleByArgument {}
extension PrecisionSetting: ExpressibleByArgument {}
