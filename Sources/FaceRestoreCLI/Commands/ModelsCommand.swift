import ArgumentParser
import Foundation
import ModelCatalog
import ModelDownloads
import Restoration

/// `facerestore models download|verify|list`: the official model files in the models folder.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install, check and list the official model files.",
        subcommands: [ModelsDownloadCommand.self, ModelsVerifyCommand.self, ModelsListCommand.self]
    )
}

extension ModelFiles.Model {
    /// Finds a model by file name (`codeformer.pth`), file stem (`codeformer`) or case name.
    static func named(_ name: String) -> ModelFiles.Model? {
        let key = name.lowercased()
        return allCases.first {
            $0.fileName.lowercased() == key || $0.rawValue.lowercased() == key
                || ($0.fileName as NSString).deletingPathExtension.lowercased() == key
        }
    }

    static func parse(_ names: [String]) throws -> [ModelFiles.Model] {
        guard !names.isEmpty else { return allCases }
        return try names.map { name in
            guard let model = named(name) else {
                throw ValidationError("unknown model '\(name)'; known: \(allCases.map(\.fileName).joined(separator: ", "))")
            }
            return model
        }
    }
}

struct ModelsDownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download the official model files into the models folder and record their SHA-256.",
        discussion: """
            Files come from their release URLs (github.com/sczhou/CodeFormer/releases/v0.1.0). A partial \
            download is resumed on the next run; a finished file is moved into place atomically and its \
            SHA-256 recorded in SHA256SUMS, which every later load checks. Files already present are \
            checked instead of downloaded again (use --force to download anyway). CodeFormer's weights \
            are under the NTU S-Lab License 1.0: non-commercial use only.
            """
    )

    @Argument(help: "Model files to install, e.g. codeformer.pth (default: all).")
    var names: [String] = []

    @OptionGroup var folder: ModelsFolderOption

    @Option(help: "Base URL of a mirror serving the same file names, instead of the release URLs (env: FACERESTORE_MODELS_MIRROR).")
    var mirror: String?

    @Flag(help: "Download even files that are present and match their checksum.")
    var force = false

    func run() async throws {
        let models = try ModelFiles.Model.parse(names)
        let mirrorText = mirror ?? ProcessInfo.processInfo.environment["FACERESTORE_MODELS_MIRROR"].flatMap { $0.isEmpty ? nil : $0 }
        var mirrorURL: URL?
        if let mirrorText {
            guard let url = URL(string: mirrorText), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw ValidationError("--mirror: '\(mirrorText)' is not an http(s) URL")
            }
            mirrorURL = url
        }
        let downloader = ModelDownloader(files: folder.files, mirror: mirrorURL)
        print("models folder: \(folder.files.directory.standardizedFileURL.path)")
        var failures = 0
        for model in models {
            print("\(model.fileName) (licence: \(model.license))")
            do {
                _ = try await downloader.install(model, force: force)
            } catch let error as ModelDownloadError {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                if case .unreachable = error { throw ExitCode(1) }
                failures += 1
            } catch {
                FileHandle.standardError.write(Data("error: \(model.fileName): \(error)\n".utf8))
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct ModelsVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check each model file present against the SHA-256 recorded when it was downloaded."
    )

    @OptionGroup var folder: ModelsFolderOption

    func run() throws {
        var bad = 0
        for status in ModelFileStatus.check(folder.files) {
            let name = status.model.fileName
            switch status.state {
            case .missing: print("\(name): missing")
            case .verified: print("\(name): OK")
            case .recorded: print("\(name): checksum recorded")
            case .unrecorded: print("\(name): present, no checksum recorded (run `facerestore models download` to record one)")
            case .mismatch(let expected, let actual):
                bad += 1
                print("\(name): MISMATCH (recorded \(expected), file has \(actual)); run `facerestore models download` to fetch it again")
            case .unreadable(let reason):
                bad += 1
                print("\(name): cannot be checked: \(reason)")
            }
        }
        if bad > 0 { throw ExitCode(1) }
    }
}

struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the official model files: present or missing, size, licence and release URL."
    )

    @OptionGroup var folder: ModelsFolderOption

    func run() throws {
        print("models folder: \(folder.files.directory.standardizedFileURL.path)")
        for status in ModelFileStatus.check(folder.files, hash: false) {
            let state: String = switch status.state {
            case .missing: "missing"
            case .recorded, .verified: "present (\(status.size ?? 0) bytes, checksum recorded)"
            case .unrecorded: "present (\(status.size ?? 0) bytes, no checksum recorded)"
            case .mismatch: "present, checksum mismatch"
            case .unreadable(let reason): "unreadable: \(reason)"
            }
            print("\(status.model.fileName): \(state)")
            print("    licence: \(status.model.license)")
            print("    from:    \(status.model.releaseURL)")
        }
    }
}
