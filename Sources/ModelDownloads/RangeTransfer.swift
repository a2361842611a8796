import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET into a partial file, resuming at its current size with a `Range` request. What
/// the server answers decides what happens to the bytes already there:
/// - 206 with a `Content-Range` starting at that size: append (resume);
/// - 200: the server ignored the range; start the file over;
/// - 416 whose total equals that size: the file was already complete;
/// - 416 otherwise, or a 206 starting elsewhere: the partial file does not fit the server's file;
///   the caller deletes it and starts over.
final class RangeTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome: Equatable {
        /// The partial file now holds the whole file; `total` if the server said how long it is.
        case complete(total: Int64?)
        /// Start over without a range.
        case restart
    }

    private let url: URL
    private let partURL: URL
    private let offset: Int64
    private let fileName: String
    private let progress: ProgressBar?
    // Touched only on the session's serial delegate queue.
    private var handle: FileHandle?
    private var written: Int64 = 0
    private var total: Int64?
    private var outcome: Outcome?
    /// Whether the server answered at all: a failure before that means it is unreachable.
    private var responded = false
    private var failure: (any Error)?
    private var continuation: CheckedContinuation<Outcome, any Error>?

    private init(url: URL, partURL: URL, offset: Int64, fileName: String, progress: ProgressBar?) {
        self.url = url
        self.partURL = partURL
        self.offset = offset
        self.fileName = fileName
        self.progress = progress
    }

    /// Fetches `url` into `partURL`, resuming from the file's current size.
    static func run(url: URL, into partURL: URL, fileName: String, progress: ProgressBar?, idleTimeout: TimeInterval) async throws -> Outcome {
        let offset = (try? FileManager.default.attributesOfItem(atPath: partURL.path)[.size] as? NSNumber)?.int64Value ?? 0
        let transfer = RangeTransfer(url: url, partURL: partURL, offset: offset, fileName: fileName, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.timeoutIntervalForResource = 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let task = session.dataTask(with: request)
        return try await withCheckedThrowingContinuation { continuation in
            queue.addOperation {
                transfer.continuation = continuation
                task.resume()
            }
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        responded = true
        guard let http = response as? HTTPURLResponse else {
            failure = ModelDownloadError.httpStatus(file: fileName, url: url.absoluteString, status: 0)
            return completionHandler(.cancel)
        }
        let contentRange = (http.value(forHTTPHeaderField: "Content-Range")).flatMap(ContentRange.init)
        do {
            switch http.statusCode {
            case 206:
                guard let contentRange, contentRange.start == offset else {
                    outcome = .restart
                    return completionHandler(.cancel)
                }
                total = contentRange.total
                try open(truncating: false)
                written = offset
            case 200:
                total = http.expectedContentLength > 0 ? http.expectedContentLength : nil
                try open(truncating: true)
                written = 0
            case 416:
                outcome = contentRange?.total == offset && offset > 0 ? .complete(total: offset) : .restart
                return completionHandler(.cancel)
            default:
                failure = ModelDownloadError.httpStatus(file: fileName, url: url.absoluteString, status: http.statusCode)
                return completionHandler(.cancel)
            }
        } catch {
            failure = error
            return completionHandler(.cancel)
        }
        progress?.update(done: written, total: total)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil, let handle else { return }
        do {
            try handle.write(contentsOf: data)
            written += Int64(data.count)
            progress?.update(done: written, total: total)
        } catch {
            failure = ModelDownloadError.writeFailed(file: fileName, reason: error.localizedDescription)
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let handle {
            try? handle.synchronize()
            try? handle.close()
            self.handle = nil
        }
        let continuation = self.continuation
        self.continuation = nil
        if let failure {
            continuation?.resume(throwing: failure)
        } else if let outcome {
            continuation?.resume(returning: outcome)
        } else if let error {
            continuation?.resume(throwing: classify(error))
        } else {
            progress?.finish(done: written, total: total)
            continuation?.resume(returning: .complete(total: total))
        }
    }

    private func open(truncating: Bool) throws {
        let manager = FileManager.default
        if truncating || !manager.fileExists(atPath: partURL.path) {
            guard manager.createFile(atPath: partURL.path, contents: nil) else {
                throw ModelDownloadError.writeFailed(file: fileName, reason: "cannot create \(partURL.lastPathComponent)")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: partURL)
            try handle.seekToEnd()
            self.handle = handle
        } catch {
            throw ModelDownloadError.writeFailed(file: fileName, reason: error.localizedDescription)
        }
    }

    /// Connection-level failures before any byte mean "unreachable"; after bytes, "interrupted".
    private func classify(_ error: any Error) -> ModelDownloadError {
        let reason: String
        if let urlError = error as? URLError {
            reason = switch urlError.code {
            case .notConnectedToInternet: "no network connection"
            case .cannotFindHost, .dnsLookupFailed: "the host \(url.host ?? "") cannot be resolved (offline?)"
            case .cannotConnectToHost: "cannot connect to \(url.host ?? "the server")"
            case .timedOut: "the connection timed out"
            case .networkConnectionLost: "the connection was lost"
            default: urlError.localizedDescription
            }
        } else {
            reason = error.localizedDescription
        }
        if !responded {
            return .unreachable(file: fileName, url: url.absoluteString, reason: reason)
        }
        return .interrupted(file: fileName, receivedBytes: written, reason: reason)
    }
}

/// `Content-Range: bytes 100-199/1000` (or `bytes */1000` on a 416).
struct ContentRange: Equatable {
    var start: Int64?
    var total: Int64?

    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes") else { return nil }
        let spec = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        total = Int64(parts[1])
        if parts[0] == "*" {
            start = nil
        } else {
            guard let dash = parts[0].firstIndex(of: "-"), let first = Int64(parts[0][..<dash]) else { return nil }
            start = first
        }
    }
}
