package import HTTPTypes
package import Hummingbird

/// Every failure a client can see, with what it needs to act on; the cases map one-to-one onto the
/// contract's status table (`../shared/API.md`). Messages name the offending field or image and the
/// limit, never a server path or an internal type.
package enum ServiceError: Error, Equatable, Sendable {
    // 400
    case noImage
    case invalidImage(ImageLabel, reason: String)
    case invalidParameter(name: String, value: String, expected: String)
    case malformedJSON(String)
    case malformedMultipart(String)
    case invalidBase64(field: String, reason: String)
    /// The request itself is not valid HTTP (bad framing, a bad Content-Length, a broken chunked
    /// body, garbage instead of a request line).
    case malformedRequest(String)
    // 404, 405, 408
    case notFound(path: String)
    /// No job has this id: it never existed, or it ended longer ago than the results' retention.
    case jobNotFound(id: String)
    case methodNotAllowed(method: String, path: String, allowed: [String])
    /// The request's head or body did not arrive in time (`ConnectionLimits`).
    case requestTimeout(String)
    // 413
    /// `limit` is nil when the body was refused below the service (the limit is then not known here).
    case bodyTooLarge(limit: Int?)
    case imageTooLarge(ImageLabel, bytes: Int, limit: Int)
    case tooManyPixels(ImageLabel, width: Int, height: Int, limit: Int)
    /// An image the restoration would make from the upload is over the pixel limit (`WorkingSizes`).
    case workTooLarge(ImageLabel, reason: String)
    case batchTooLarge(count: Int, limit: Int)
    // 414, 415, 431
    case uriTooLong(limit: Int)
    case unsupportedContentType(String?)
    case headersTooLarge(limit: Int)
    // 501, 505
    case methodNotImplemented
    case httpVersionNotSupported(String)
    // 503
    case modelMissing(file: String)
    /// The file is there but could not be loaded (damaged, truncated, another network).
    case modelUnusable(file: String)
    case atCapacity(retryAfterSeconds: Int)
    /// The bodies of the uploads being received and held at once are at `--max-buffered-uploads`.
    case uploadsAtCapacity(retryAfterSeconds: Int)
    /// The server is stopping and takes no new work.
    case shuttingDown
    /// The server's shutdown grace ran out before this work finished, so it was stopped.
    case stoppedByShutdown
    /// The cluster's job database (`--store`) did not answer; nothing was queued or changed.
    case databaseUnavailable(retryAfterSeconds: Int)
    /// The server ran out of memory computing this restoration (`ComputeError.outOfMemory`): the
    /// request is valid and the server keeps running, so it is a 503 the client may retry, like
    /// being at capacity (with `Retry-After`); a smaller image or upscale needs less.
    case outOfMemory(retryAfterSeconds: Int)
    // Errors of a cluster's jobs, recorded by the worker that ran them
    /// An error a worker recorded for a job (one of the cases here, made on that worker), relayed as it was.
    case relayed(statusCode: Int, message: String)
    /// Every worker that started the job stopped before finishing it (killed, crashed, cut off from
    /// the database), `attempts` times; it is not tried again.
    case workersLost(attempts: Int)
    // 507: results could not be written (disk full, read-only, ...); `reason` names the cause
    case resultsNotStored(reason: String)
    // 504: the work took longer than allowed and was stopped at its next face or tile
    case requestDeadlineExceeded(seconds: Int)
    case jobDeadlineExceeded(seconds: Int)
    // 500
    case internalError(reference: String)

    /// The command that installs missing model files; part of every 503 for a missing model.
    package static let installCommand = "facerestore models download"

    /// `Retry-After` for `outOfMemory`: long enough for the request that held the memory (another
    /// process's, or a batch of this one's) to have finished.
    package static let outOfMemoryRetrySeconds = 10

    package var status: HTTPResponse.Status {
        switch self {
        case .noImage, .invalidImage, .invalidParameter, .malformedJSON, .malformedMultipart, .invalidBase64, .malformedRequest: .badRequest
        case .notFound, .jobNotFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .requestTimeout: .requestTimeout
        case .uriTooLong: .uriTooLong
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .methodNotImplemented: .notImplemented
        case .httpVersionNotSupported: HTTPResponse.Status(code: 505, reasonPhrase: "HTTP Version Not Supported")
        case .bodyTooLarge, .imageTooLarge, .tooManyPixels, .workTooLarge, .batchTooLarge: .contentTooLarge
        case .unsupportedContentType: .unsupportedMediaType
        case .modelMissing, .modelUnusable, .atCapacity, .uploadsAtCapacity, .shuttingDown, .stoppedByShutdown, .databaseUnavailable,
             .outOfMemory:
            .serviceUnavailable
        case .relayed(let code, _): HTTPResponse.Status(code: code)
        case .workersLost: .internalServerError
        case .resultsNotStored: .insufficientStorage
        case .requestDeadlineExceeded, .jobDeadlineExceeded: .gatewayTimeout
        case .internalError: .internalServerError
        }
    }

    package var message: String {
        switch self {
        case .noImage:
            "no image: send one or more multipart file parts named 'image', or JSON with 'image_base64' or 'images_base64'"
        case .invalidImage(let image, let reason):
            "\(image) cannot be decoded: \(reason)"
        case .invalidParameter(let name, let value, let expected):
            "invalid '\(name)': got \(value), expected \(expected)"
        case .malformedJSON(let detail):
            "malformed JSON body: \(detail)"
        case .malformedMultipart(let detail):
            "malformed multipart/form-data body: \(detail)"
        case .invalidBase64(let field, let reason):
            "'\(field)' is not a valid base64 image: \(reason)"
        case .malformedRequest(let detail):
            "malformed HTTP request: \(detail)"
        case .requestTimeout(let detail):
            "request timed out: \(detail)"
        case .uriTooLong(let limit):
            "the request line (method and URL) is longer than the limit of \(ByteCount.describe(limit))"
        case .headersTooLarge(let limit):
            "the request's header fields are larger than the limit of \(ByteCount.describe(limit))"
        case .methodNotImplemented:
            "the request method is not one this server knows; the API uses GET, POST, HEAD and OPTIONS"
        case .httpVersionNotSupported(let version):
            "HTTP version \(version) is not supported; use HTTP/1.1 or HTTP/1.0"
        case .notFound(let path):
            "not found: \(path)"
        case .jobNotFound(let id):
            "no job '\(id)': it does not exist, or it ended longer ago than results are kept"
        case .methodNotAllowed(let method, let path, let allowed):
            "\(method) is not allowed on \(path); use \(allowed.joined(separator: " or "))"
        case .bodyTooLarge(let limit):
            "request body is larger than the limit" + (limit.map { " of \(ByteCount.describe($0))" } ?? "")
        case .imageTooLarge(let image, let bytes, let limit):
            "\(image) is \(ByteCount.describe(bytes)), over the per-image limit of \(ByteCount.describe(limit))"
        case .tooManyPixels(let image, let width, let height, let limit):
            "\(image) is \(width)x\(height) = \(width.multipliedReportingOverflow(by: height).partialValue) pixels, over the limit of \(limit) pixels"
        case .workTooLarge(let image, let reason):
            "\(image) is too large to restore: \(reason); send a smaller image or ask for a smaller upscale"
        case .batchTooLarge(let count, let limit):
            "\(count) images in one request, over the batch limit of \(limit)"
        case .unsupportedContentType(let type):
            "unsupported content type \(type.map { "'\($0)'" } ?? "(none given)"): send multipart/form-data or application/json"
        case .modelMissing(let file):
            "the model file \(file) is not installed on this server; install it with `\(Self.installCommand)` and restart the service"
        case .modelUnusable(let file):
            "the model file \(file) on this server is damaged or truncated and could not be loaded; reinstall it with `\(Self.installCommand) --force \(file)` and restart the service"
        case .atCapacity(let seconds):
            "the service is at capacity; retry in \(seconds) s"
        case .uploadsAtCapacity(let seconds):
            "the service is receiving as many uploads as it can hold at once; retry in \(seconds) s"
        case .shuttingDown:
            "the service is shutting down and takes no new work; retry on another replica or after it restarts"
        case .stoppedByShutdown:
            "the service is shutting down and stopped this restoration before it finished; retry on another replica or after it restarts"
        case .databaseUnavailable(let seconds):
            "the service's job database is not reachable; nothing was queued or changed; retry in \(seconds) s"
        case .outOfMemory(let seconds):
            "the server ran out of memory restoring this image and stopped it; nothing was kept; retry in \(seconds) s, or send a smaller image or ask for a smaller upscale"
        case .relayed(_, let message):
            message
        case .workersLost(let attempts):
            "the restoration was started \(attempts) time\(attempts == 1 ? "" : "s") and each time its worker stopped before it finished (killed, crashed or cut off from the database); it is not tried again"
        case .resultsNotStored(let reason):
            "the server could not store the result: \(reason); nothing was kept, retry later"
        case .requestDeadlineExceeded(let seconds):
            "the restoration took longer than the request timeout of \(seconds) s and was stopped; send long work to POST /api/jobs and follow it with GET /api/jobs/{id}"
        case .jobDeadlineExceeded(let seconds):
            "the job took longer than the job timeout of \(seconds) s and was stopped"
        case .internalError(let reference):
            "internal error while processing the request (reference \(reference)); the server keeps running"
        }
    }

    /// Extra headers: `Retry-After` when at capacity, `Allow` for a wrong method.
    package var headers: HTTPFields {
        switch self {
        case .atCapacity(let seconds), .uploadsAtCapacity(let seconds): [.retryAfter: String(seconds)]
        case .shuttingDown, .stoppedByShutdown: [.retryAfter: String(5)]
        case .databaseUnavailable(let seconds), .outOfMemory(let seconds): [.retryAfter: String(seconds)]
        case .methodNotAllowed(_, _, let allowed): [.allow: allowed.joined(separator: ", ")]
        default: [:]
        }
    }
}

/// Names one input image in messages: its position when the request has several, and the name the
/// client gave it.
package struct ImageLabel: Equatable, Sendable, CustomStringConvertible {
    package let index: Int
    package let count: Int
    package let name: String

    package init(index: Int, count: Int, name: String) {
        self.index = index
        self.count = count
        self.name = name
    }

    package var description: String {
        count > 1 ? "image \(index) of \(count) ('\(name)')" : "image '\(name)'"
    }
}

extension ServiceError: HTTPResponseError {
    package func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(ErrorBody(message: message, context: context), status: status, headers: headers)
    }
}

/// The contract's error body; `request_id` is the request's `X-Request-Id`, when it has one.
struct ErrorBody: JSONRepresentable {
    let message: String
    let requestId: String?

    /// The body for an error answered inside the router, where the context holds the request's id.
    init(message: String, context: some RequestContext) {
        self.init(message: message, requestId: (context as? ServiceRequestContext)?.requestId)
    }

    init(message: String, requestId: String? = nil) {
        self.message = message
        self.requestId = requestId
    }

    var json: JSONDocument {
        var members: [(String, JSONDocument)] = [("status", .string("error")), ("message", .string(message))]
        if let requestId { members.append(("request_id", .string(requestId))) }
        return .object(members)
    }
}
