import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A small HTTP file server for the download tests: serves fixed bytes by name with `Range`
/// support (206 + Content-Range, 416 past the end), and can be told to ignore ranges or to cut the
/// first response short, as a flaky mirror would.
final class FileServer: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: Data]
    private var _rangeHeaders: [String?] = []
    /// Answer 200 with the whole file even when a range is asked for.
    var ignoresRanges = false
    /// Cut the next response after this many bytes (then close the connection).
    var cutNextAfter: Int?

    init(files: [String: Data]) {
        self.files = files
    }

    var rangeHeaders: [String?] { lock.withLock { _rangeHeaders } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/{file}") { request, context -> Response in
            let name = context.parameters.get("file") ?? ""
            return try self.respond(name: name, range: request.headers[.range])
        }
        return router
    }

    private func respond(name: String, range: String?) throws -> Response {
        let (data, ignore, cut): (Data?, Bool, Int?) = lock.withLock {
            _rangeHeaders.append(range)
            let cut = cutNextAfter
            cutNextAfter = nil
            return (files[name], ignoresRanges, cut)
        }
        guard let data else { throw HTTPError(.notFound) }
        var start = 0
        var status = HTTPResponse.Status.ok
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        if !ignore, let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let first = Int(range.dropFirst(6).dropLast()) {
            guard first < data.count else {
                headers[.contentRange] = "bytes */\(data.count)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            start = first
            status = .partialContent
            headers[.contentRange] = "bytes \(first)-\(data.count - 1)/\(data.count)"
        }
        let body = data.subdata(in: start..<data.count)
        headers[.contentLength] = String(body.count)
        if let cut {
            let prefix = ByteBuffer(bytes: body.prefix(cut))
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.count) { writer in
                try await writer.write(prefix)
                try await Task.sleep(for: .milliseconds(50))
                throw CancellationError()
            })
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
