import Foundation
import Imaging
import Testing
import TestSupport

/// `facerestore restore` on whole photos, as a user runs it: the small real RetinaFace checkpoint,
/// ParseNet from its synthetic manifest and the tiny CodeFormer from the fixtures.
@Suite(.serialized) struct RestoreCommandTests {
    static let available = Fixtures.available("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")
        && Fixtures.available("facelib/parsenet/manifest.json") && Fixtures.available("codeformer/codeformer_tiny.pth")

    static var modelArguments: [String] {
        ["--models", "/nonexistent", "--detector", "mobilenet",
         "--detection-model", Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth").path,
         "--parsing-model", Fixtures.url("facelib/parsenet/manifest.json").path,
         "--codeformer", Fixtures.url("codeformer/codeformer_tiny.pth").path]
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(.enabled(if: available))
    func restoresAWholeRGBAPhotoKeepingSizeAndAlpha() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("02_restored.png")
        let run = try CommandRunner.run(["restore", Fixtures.url("images/02.png").path, "--only-center-face", "--upscale", "2",
                                         "--save-faces", "--timings", "--output", output.path] + Self.modelArguments)
        #expect(run.status == 0, "\(run.stderr)")
        print(run.stdout)
        let result = try ImageDecoder.decode(Data(contentsOf: output))
        #expect(result.width == 2408 && result.height == 1290 && result.channels == 4)
        #expect(run.stdout.contains("stages: read"))
        let faces = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("restored_faces").path)
        #expect(faces.count <= 1, "--only-center-face keeps at most one face, got \(faces)")
        #expect(run.stdout.contains("\(faces.count) of \(faces.count) faces restored"))
    }

    @Test(.enabled(if: available))
    func restoresAFolderOfPhotos() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = folder.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for name in ["01.jpg", "04.jpg"] {
            try FileManager.default.copyItem(at: Fixtures.url("images/\(name)"), to: inputs.appendingPathComponent(name))
        }
        let out = folder.appendingPathComponent("out")
        let run = try CommandRunner.run(["restore", inputs.path, "--only-center-face", "-s", "1", "-w", "0.7", "--output", out.path] + Self.modelArguments)
        #expect(run.status == 0, "\(run.stderr)")
        // 01.jpg 248x189 -> input_img 672x512; 04.jpg 225x225 -> 512x512 (short side raised to 512).
        let first = try ImageDecoder.decode(Data(contentsOf: out.appendingPathComponent("01.png")))
        let second = try ImageDecoder.decode(Data(contentsOf: out.appendingPathComponent("04.png")))
        #expect(first.width == 672 && first.height == 512)
        #expect(second.width == 512 && second.height == 512)
    }

    @Test func aMissingModelFailsWithTheInstallCommand() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("in.png")
        try ImageEncoder.png(Image(width: 32, height: 32, channels: 3, fill: 90)).write(to: image)
        let run = try CommandRunner.run(["restore", image.path, "--models", folder.path, "--output", folder.appendingPathComponent("out.png").path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("codeformer.pth") && run.stderr.contains("facerestore models download"), "\(run.stderr)")
    }

    @Test func badOptionsAreRejectedBeforeAnyWork() throws {
        let run = try CommandRunner.run(["restore", "/nonexistent.png", "--fidelity", "1.5"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--fidelity"))
    }
}
