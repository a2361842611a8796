import ArgumentParser
import Foundation
import Imaging
import Restoration
import TensorCore

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore the faces in photos (CodeFormer), as the official demo does.",
        discussion: """
            Each photo goes through RetinaFace detection, alignment to the 512 template, CodeFormer, \
            ParseNet and paste-back; the result is a PNG, upscaled by --upscale, with the input's alpha \
            channel kept. With --aligned, inputs are faces already cropped and aligned like the official \
            `--has_aligned` inputs; each is resized to 512x512 and restored as a whole.
            """
    )

    @Argument(help: "Image files or folders of images (JPEG, PNG, WebP).")
    var inputs: [String]

    @Flag(name: [.customLong("aligned"), .customLong("has-aligned")], help: "Inputs are cropped, aligned faces.")
    var aligned = false

    @Option(name: [.customShort("w"), .long], help: "CodeFormer fidelity weight w in [0, 1]: lower gives more generated detail, higher keeps more of the input.")
    var fidelity: Float = 0.5

    @Option(name: [.customShort("s"), .long], help: "Final upscaling of the whole image: 1 to 4.")
    var upscale: Int = 2

    @Flag(help: "Restore only the face nearest the image centre.")
    var onlyCenterFace = false

    @Flag(help: "Draw the detected face boxes on the result.")
    var drawBox = false

    @Option(help: "Background upsampler: realesrgan (RealESRGAN_x2plus, tiled) or none (bilinear resize).")
    var bgUpsampler: BackgroundUpsampler = .none

    @Flag(help: "Upsample the restored faces with Real-ESRGAN too.")
    var faceUpsample = false

    @Flag(help: "Also save each aligned crop and restored face (cropped_faces/, restored_faces/ beside the results).")
    var saveFaces = false

    @Option(name: .shortAndLong, help: "Output file (one input) or folder.")
    var output: String = "results"

    @Flag(help: "Print the seconds each stage took (read, detect, align, restore, upsample, paste).")
    var timings = false

    @OptionGroup var modelOptions: ModelOptions

    enum BackgroundUpsampler: String, ExpressibleByArgument, CaseIterable {
        case none, realesrgan
    }

    func validate() throws {
        guard (0...1).contains(fidelity) else { throw ValidationError("--fidelity must be in [0, 1], got \(fidelity)") }
        guard (1...4).contains(upscale) else { throw ValidationError("--upscale must be 1, 2, 3 or 4, got \(upscale)") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one input image or folder") }
    }

    var options: RestorationOptions {
        // The official CLI applies no large-image limits (the web demo does; `serve` has them).
        RestorationOptions(fidelity: fidelity, upscale: upscale, backgroundEnhance: bgUpsampler == .realesrgan,
                           faceUpsample: faceUpsample, onlyCenterFace: onlyCenterFace, drawBox: drawBox, hasAligned: aligned,
                           limits: LargeImageLimits(reduceToTwoAbove: nil, reduceToOneAbove: nil))
    }

    func run() throws {
        let files = try InputFiles.expand(inputs)
        let destinations = try OutputPaths(output: output, inputs: files)
        let pipeline = FaceRestorationPipeline(models: modelOptions.loadModels())
        try pipeline.checkModels(for: options)
        var failures = 0
        for (input, destination) in zip(files, destinations.paths) {
            do {
                let image = try ImageDecoder.decode(Data(contentsOf: input))
                var result: RestorationResult!
                let seconds = try Clock.measure { result = try pipeline.restore(image, options: options) }
                try ImageEncoder.png(result.image).write(to: destination, options: .atomic)
                if saveFaces { try save(result.faces, beside: destination) }
                var notes = aligned ? "" : ", \(result.facesRestored) of \(result.facesFound) faces restored"
                if result.inputWasGray { notes += ", grey input" }
                if result.applied != options { notes += ", upscale \(result.applied.upscale)" }
                print("\(input.path) (\(image.width)x\(image.height)) -> \(destination.path) (\(result.image.width)x\(result.image.height))\(notes) in \(String(format: "%.2f", seconds)) s")
                if timings { print("  stages: \(result.timings.summary)") }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("\(input.path): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// The official CLI's `cropped_faces/<name>_<i>.png` and `restored_faces/<name>_<i>.png`.
    func save(_ faces: [RestoredFace], beside destination: URL) throws {
        let folder = destination.deletingLastPathComponent()
        let stem = destination.deletingPathExtension().lastPathComponent
        for (sub, image) in [("cropped_faces", \RestoredFace.crop), ("restored_faces", \RestoredFace.restored)] {
            let directory = folder.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (i, face) in faces.enumerated() {
                let url = directory.appendingPathComponent(String(format: "%@_%02d.png", stem, i))
                try ImageEncoder.png(face[keyPath: image]).write(to: url, options: .atomic)
            }
        }
    }
}

/// Expands folders into their images (sorted), keeps files as given.
enum InputFiles {
    static let extensions: Set<String> = ["jpg", "jpeg", "png", "webp"]

    static func expand(_ paths: [String]) throws -> [URL] {
        var result: [URL] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or folder: \(path)")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                result += names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                    .map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            } else {
                result.append(URL(fileURLWithPath: path))
            }
        }
        guard !result.isEmpty else { throw ValidationError("no images found in \(paths.joined(separator: ", "))") }
        return result
    }
}

/// One output file per input: `--output` itself for a single input named like an image file,
/// else `<output>/<input name>.png`; inputs whose names differ only in extension (or folder) get
/// `<name>_<n>.png` instead of overwriting each other.
struct OutputPaths {
    let paths: [URL]

    init(output: String, inputs: [URL]) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        if inputs.count == 1 && ext == "png" {
            let url = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            paths = [url]
            return
        }
        if InputFiles.extensions.contains(ext) {
            throw ValidationError("--output \(output): results are PNG files; name a .png file for one input, or a folder")
        }
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var used: Set<String> = []
        paths = inputs.map { input in
            let stem = input.deletingPathExtension().lastPathComponent
            var name = stem + ".png"
            var n = 2
            while used.contains(name) {
                name = "\(stem)_\(n).png"
                n += 1
            }
            used.insert(name)
            return folder.appendingPathComponent(name)
        }
    }
}
