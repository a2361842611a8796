import ArgumentParser
import Foundation
import Imaging
import ModelCatalog
import Networks
import Restoration
import TensorCore

struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale whole images with Real-ESRGAN (RealESRGANer.enhance).",
        discussion: """
            Defaults are CodeFormer's demo settings: RealESRGAN_x2plus, tile 400, tile pad 40, pre pad 0. \
            Grey, RGBA (alpha upscaled by the network too) and 16-bit inputs are handled like the \
            official RealESRGANer. Real-ESRGAN weights are under the BSD-3-Clause licence.
            """
    )

    @Argument(help: "Image files or folders of images (JPEG, PNG, WebP).")
    var inputs: [String]

    @Option(help: "A Real-ESRGAN RRDBNet checkpoint (x2plus or x4plus .pth / .safetensors; a synthetic-weights manifest (.json) also works, for testing). Default: <models>/RealESRGAN_x2plus.pth.")
    var model: String?

    @Option(help: "Final size relative to the input; the network's own scale if omitted. Other values resize the network output with LANCZOS4.")
    var outscale: Double?

    @Option(help: "Tile size in input pixels (0 = the whole image at once).")
    var tile: Int = 400

    @Option(help: "Context around each tile, in input pixels.")
    var tilePad: Int = 40

    @Option(help: "Reflect padding on the bottom and right, in input pixels.")
    var prePad: Int = 0

    @Option(help: "Cross-fade neighbouring tiles over this many input pixels each side of a seam (at most --tile-pad); 0 keeps upstream's hard seams.")
    var seamOverlap: Int = 0

    @Option(name: .shortAndLong, help: "Output file (one input) or folder.")
    var output: String = "results"

    @OptionGroup var arithmetic: PrecisionOption

    @Option(help: "Folder with the official model files (default: $FACERESTORE_MODELS, else ./weights).")
    var models: String?

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input image or folder") }
        guard tile >= 0, tilePad >= 0, prePad >= 0 else { throw ValidationError("--tile, --tile-pad and --pre-pad must not be negative") }
        guard seamOverlap >= 0, seamOverlap <= tilePad, 2 * seamOverlap <= max(tile, 0) || seamOverlap == 0 else {
            throw ValidationError("--seam-overlap must be between 0 and --tile-pad (\(tilePad)) and at most half of --tile")
        }
        if let outscale { guard outscale > 0, outscale.isFinite else { throw ValidationError("--outscale must be positive, got \(outscale)") } }
    }

    func modelURL() throws -> URL {
        if let model {
            guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("--model: no file at \(model)") }
            return URL(fileURLWithPath: model)
        }
        return try ModelFiles(directory: models).require(.realesrganX2plus)
    }

    func run() throws {
        let files = try InputFiles.expand(inputs)
        let destinations = try OutputPaths(output: output, inputs: files)
        // Through the loader like `restore` and `serve`: the file is checked against the models
        // folder's SHA-256 record before it is used.
        let network = try NetworkLoader(files: ModelFiles(directory: models))
            .load(RRDBNet.self, from: modelURL(), precision: arithmetic.precision.upsampler)
        if network.scale == 2 && (tile % 2 != 0 || tilePad % 2 != 0) && tile > 0 {
            throw ValidationError("an x2 model needs an even --tile and --tile-pad (its tiles are pixel-unshuffled)")
        }
        let upsampler = RealESRGANer(network: network, tile: tile, tilePad: tilePad, prePad: prePad, seamOverlap: tile > 0 ? seamOverlap : 0)
        var failures = 0
        for (input, destination) in zip(files, destinations.paths) {
            do {
                let image = try ImageDecoder.decode(Data(contentsOf: input))
                if let outscale {
                    guard Int(Double(image.width) * outscale) > 0, Int(Double(image.height) * outscale) > 0 else {
                        throw ValidationError("--outscale \(outscale) gives an empty image for \(image.width)x\(image.height)")
                    }
                }
                guard prePad < image.width, prePad < image.height else {
                    throw ValidationError("--pre-pad \(prePad) needs an image larger than \(image.width)x\(image.height)")
                }
                var result: Image!
                let seconds = try Clock.measure { result = try upsampler.enhance(image, outscale: outscale) }
                try ImageEncoder.png(result).write(to: destination, options: .atomic)
                print("\(input.path) (\(image.width)x\(image.height)) -> \(destination.path) (\(result.width)x\(result.height)) in \(String(format: "%.2f", seconds)) s")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("\(input.path): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
