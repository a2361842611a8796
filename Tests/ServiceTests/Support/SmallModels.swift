import Checkpoints
import Foundation
import ModelCatalog
import Restoration
import TestSupport

/// A models folder with the small checkpoints from the shared fixtures under the official file
/// names, made at test time in a temporary folder (never in the repository): the tiny real
/// CodeFormer and its sidecar, the real trained MobileNet RetinaFace (it finds a photo's real faces,
/// not hundreds of random-weight ones), ParseNet with synthetic weights
/// written as safetensors (the reader sniffs the format, so the `.pth` name loads), and the tiny
/// x2 RRDBNet as Real-ESRGAN x2plus.
enum SmallModels {
    static let fixtures = [
        "codeformer/codeformer_tiny.pth", "codeformer/codeformer_tiny.config.json",
        "facelib/retinaface_mnet_real/detection_mobilenet0.25_Final.pth", "facelib/parsenet/manifest.json",
        "realesrgan/tiny/tiny_rrdb_x2.pth", "images/03.jpg",
    ]

    static var available: Bool { fixtures.allSatisfy(Fixtures.available) }

    /// The folder, built once and reused by later runs (the synthetic ParseNet file is 85 MB, so a
    /// fresh copy per run would pile up in the temporary folder). It is built under a temporary
    /// name and renamed into place, so a run never sees half of it.
    static let folder: Result<URL, any Error> = Result {
        let manager = FileManager.default
        // Keyed by the fixtures folder, which the links point into.
        let key = SHA256.hex(of: Data(Fixtures.root.standardizedFileURL.path.utf8)).prefix(12)
        let final = manager.temporaryDirectory.appendingPathComponent("facerestore-small-models-v2-\(key)")
        if manager.fileExists(atPath: final.appendingPathComponent("parsing_parsenet.pth").path) { return final }
        let directory = manager.temporaryDirectory.appendingPathComponent("facerestore-small-models-\(UUID().uuidString)")
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        let links = [
            ("codeformer.pth", "codeformer/codeformer_tiny.pth"),
            ("codeformer.config.json", "codeformer/codeformer_tiny.config.json"),
            ("detection_mobilenet0.25_Final.pth", "facelib/retinaface_mnet_real/detection_mobilenet0.25_Final.pth"),
            ("RealESRGAN_x2plus.pth", "realesrgan/tiny/tiny_rrdb_x2.pth"),
        ]
        for (name, fixture) in links {
            try manager.createSymbolicLink(at: directory.appendingPathComponent(name), withDestinationURL: Fixtures.url(fixture))
        }
        let parser = try SyntheticWeights.load(manifest: Fixtures.url("facelib/parsenet/manifest.json"))
        try SafetensorsWriter.write(parser, to: directory.appendingPathComponent("parsing_parsenet.pth"))
        if rename(directory.path, final.path) != 0 {
            // Another run put it in place first.
            try? manager.removeItem(at: directory)
        }
        return final
    }

    /// The loaded set, once per test process.
    static let models: Result<FaceRestorationModels, any Error> = Result {
        let files = ModelFiles(directory: try folder.get().path, environment: [:])
        return FaceRestorationModels.load(from: files, detector: .mobilenet)
    }
}
