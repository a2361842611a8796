import ArgumentParser
import Foundation
import Imaging
import Restoration

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore faces in images.",
        discussion: """
            With --aligned, inputs are faces already cropped and aligned like the official \
            `--has_aligned` inputs; each is resized to 512x512 and restored as a whole.
            """
    )

    @Argument(help: "Image files or folders of images (JPEG, PNG, WebP).")
    var inputs: [String]

    @Flag(name: [.customLong("aligned"), .customLong("has-aligned")], help: "Inputs are cropped, aligned faces.")
    var aligned = false

    @Option(help: "CodeFormer fidelity weight w in [0, 1]: lower gives more generated detail, higher keeps more of the input.")
    var fidelity: Float = 0.5

    @Option(name: .shortAndLong, help: "Output file (one input) or folder.")
    var output: String = "results"

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard (0...1).contains(fidelity) else { throw ValidationError("--fidelity must be in [0, 1], got \(fidelity)") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one input image or folder") }
    }

    func run() throws {
        guard aligned else {
            throw ValidationError("whole-photo restoration (face detection and paste-back) is not available yet; pass --aligned for cropped, aligned faces")
        }
        let files = try InputFiles.expand(inputs)
        let destinations = try OutputPaths(output: output, inputs: files)
        let restorer = AlignedFaceRestorer(codeformer: try modelOptions.loadCodeFormer())
        var failures = 0
        for (input, destination) in zip(files, destinations.paths) {
            do {
                let image = try ImageDecoder.decode(Data(contentsOf: input))
                let result = restorer.restore(image, fidelity: fidelity)
                try ImageEncoder.png(result.image).write(to: destination, options: .atomic)
                print("\(input.path) -> \(destination.path)\(result.inputWasGray ? " (grey input)" : "")")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("\(input.path): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
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
