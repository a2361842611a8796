package import Foundation

/// Where the official model files are found: `--models`, else `$FACERESTORE_MODELS`, else `./weights`.
/// Files keep their release names; the upstream folder layout (`weights/CodeFormer/codeformer.pth`)
/// works too.
package struct ModelFiles: Sendable {
    package let directory: URL

    package init(directory: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = directory ?? environment["FACERESTORE_MODELS"].flatMap { $0.isEmpty ? nil : $0 } ?? "weights"
        self.directory = URL(fileURLWithPath: path)
    }

    package enum Model: String, CaseIterable, Sendable {
        case codeformer
        /// RetinaFace ResNet-50, the demo's face detector.
        case detectionResNet50
        /// RetinaFace MobileNet-0.25, the small detector.
        case detectionMobileNet
        /// ParseNet, the face parser paste-back uses for its mask.
        case parsing
        /// Real-ESRGAN x2plus, the demo's background / face upsampler.
        case realesrganX2plus

        package var fileName: String {
            switch self {
            case .codeformer: "codeformer.pth"
            case .detectionResNet50: "detection_Resnet50_Final.pth"
            case .detectionMobileNet: "detection_mobilenet0.25_Final.pth"
            case .parsing: "parsing_parsenet.pth"
            case .realesrganX2plus: "RealESRGAN_x2plus.pth"
            }
        }

        /// Subfolder of the upstream repository's `weights/` that holds the file.
        var upstreamFolder: String {
            switch self {
            case .codeformer: "CodeFormer"
            case .detectionResNet50, .detectionMobileNet, .parsing: "facelib"
            case .realesrganX2plus: "realesrgan"
            }
        }

        package var releaseURL: String {
            "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/\(fileName)"
        }

        package var license: String {
            switch self {
            case .codeformer: "NTU S-Lab License 1.0 (non-commercial use only)"
            case .detectionResNet50, .detectionMobileNet: "MIT (Pytorch_Retinaface), distributed with the CodeFormer release"
            case .parsing: "distributed with the CodeFormer release (from facexlib / PSFRGAN); non-commercial terms of the release apply"
            case .realesrganX2plus: "BSD-3-Clause (Real-ESRGAN)"
            }
        }
    }

    /// The file for `model`, if present.
    package func locate(_ model: Model) -> URL? {
        let candidates = [
            directory.appendingPathComponent(model.fileName),
            directory.appendingPathComponent(model.upstreamFolder).appendingPathComponent(model.fileName),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Like `locate`, but a missing file is an error that says how to get it.
    package func require(_ model: Model) throws -> URL {
        if let url = locate(model) { return url }
        throw ModelFileError.missing(model: model.fileName, directory: directory.path, releaseURL: model.releaseURL, license: model.license)
    }
}
