package import Foundation
package import ModelCatalog

/// The state of each official model file on disk, for `facerestore models list` and `verify`.
package struct ModelFileStatus: Sendable, Equatable {
    package enum State: Sendable, Equatable {
        case missing
        /// Present and matching the SHA-256 recorded at download.
        case verified(digest: String)
        /// Present with a recorded checksum that was not checked now (`hash: false`).
        case recorded(digest: String)
        /// Present, but no checksum was recorded (placed by hand).
        case unrecorded
        /// Present and different from the record: damaged or replaced.
        case mismatch(expected: String, actual: String)
        /// Present but unreadable, or the record is.
        case unreadable(reason: String)
    }

    package var model: ModelFiles.Model
    /// Where the file is, when present.
    package var url: URL?
    package var size: Int64?
    package var state: State

    /// Checks every official file in `files` (hashing each present one when `hash` is true).
    package static func check(_ files: ModelFiles, hash: Bool = true) -> [ModelFileStatus] {
        let checksums = ModelChecksums(files: files)
        return ModelFiles.Model.allCases.map { model in
            guard let url = files.locate(model) else { return ModelFileStatus(model: model, url: nil, size: nil, state: .missing) }
            let size = ModelDownloader.size(of: url)
            let state: State
            do {
                if !hash {
                    state = try checksums.recordedDigest(of: url).map { .recorded(digest: $0) } ?? .unrecorded
                } else {
                    switch try checksums.verify(url) {
                    case .matches(let digest): state = .verified(digest: digest)
                    case .unrecorded: state = .unrecorded
                    }
                }
            } catch ModelChecksumError.mismatch(_, let expected, let actual) {
                state = .mismatch(expected: expected, actual: actual)
            } catch {
                state = .unreadable(reason: "\(error)")
            }
            return ModelFileStatus(model: model, url: url, size: size, state: state)
        }
    }
}
