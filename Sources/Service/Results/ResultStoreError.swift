import HTTPTypes
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the results folder could not be used. `reason` says it in the system's words for the error
/// ("no space left on device", "read-only file system") and never names a path, so it can go to
/// the client; `description` is for the log.
enum ResultStoreError: Error, Equatable, CustomStringConvertible {
    /// The folder is not there (reading and sweeping only; a write creates it again).
    case folderMissing
    /// The folder could not be created or opened (e.g. its path is now a file or a symlink).
    case folderUnusable(Int32)
    case writeFailed(Int32)
    case renameFailed(Int32)

    /// The errno behind the failure.
    var code: Int32 {
        switch self {
        case .folderMissing: ENOENT
        case .folderUnusable(let code), .writeFailed(let code), .renameFailed(let code): code
        }
    }

    var reason: String { Self.words(for: code) }

    var description: String {
        switch self {
        case .folderMissing: "the results folder is missing"
        case .folderUnusable(let code): "the results folder cannot be used: \(Self.words(for: code))"
        case .writeFailed(let code): "writing a result failed: \(Self.words(for: code))"
        case .renameFailed(let code): "renaming a result into place failed: \(Self.words(for: code))"
        }
    }

    /// What the client sees: 507 with the cause.
    var serviceError: ServiceError { .resultsNotStored(reason: reason) }

    /// The system's message for `code`, starting lower-case to read well inside a sentence.
    static func words(for code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

extension HTTPResponse.Status {
    /// 507: the server cannot store what the request produced (RFC 4918).
    static var insufficientStorage: Self { .init(code: 507, reasonPhrase: "Insufficient Storage") }
}
