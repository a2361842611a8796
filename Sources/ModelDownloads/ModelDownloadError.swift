import Foundation

/// Why installing a model file failed, in words that say what to do next.
package enum ModelDownloadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No connection could be made (offline, DNS, refused, timed out before any byte).
    case unreachable(file: String, url: String, reason: String)
    /// The connection broke mid-transfer; the partial file is kept for the next run to resume.
    case interrupted(file: String, receivedBytes: Int64, reason: String)
    /// The server answered with an error status.
    case httpStatus(file: String, url: String, status: Int)
    /// The transfer ended with fewer or more bytes than announced.
    case sizeMismatch(file: String, expected: Int64, received: Int64)
    /// The file could not be written into the models folder.
    case writeFailed(file: String, reason: String)

    package var description: String {
        switch self {
        case .unreachable(let file, let url, let reason):
            "cannot download \(file): \(reason). Check the network connection (or proxy settings), or download \(url) by hand into the models folder."
        case .interrupted(let file, let received, let reason):
            "download of \(file) was interrupted after \(received) bytes (\(reason)); run the command again to resume where it stopped."
        case .httpStatus(let file, let url, let status):
            "cannot download \(file): the server answered HTTP \(status) for \(url)."
        case .sizeMismatch(let file, let expected, let received):
            "download of \(file) ended with \(received) bytes where \(expected) were announced; run the command again to fetch it anew."
        case .writeFailed(let file, let reason):
            "cannot write \(file) into the models folder: \(reason)"
        }
    }
}
