import HTTPTypes
import Hummingbird

/// Every failure a client can see, with what it needs to act on; the cases map one-to-one onto the
/// contract's status table (`../shared/API.md`). Messages name the offending field or image and the
/// limit, never a server path or an internal type.
public enum ServiceError: Error, Equatable, Sendable {
    // 400
    case noImage
    case invalidImage(ImageLabel, reason: String)
    case invalidParameter(name: String, value: String, expected: String)
    case malformedJSON(String)
    case malformedMultipart(String)
    case invalidBase64(field: String, reason: String)
    // 404, 405
    case notFound(path: String)
    case methodNotAllowed(method: String, path: String, allowed: [String])
    // 413
    /// `limit` is nil when the body was refused below the service (the limit is then not known here).
    case bodyTooLarge(limit: Int?)
    case imageTooLarge(ImageLabel, bytes: Int, limit: Int)
    case tooManyPixels(ImageLabel, width: Int, height: Int, limit: Int)
    case batchTooLarge(count: Int, limit: Int)
    // 415
    case unsupportedContentType(String?)
    // 503
    case modelMissing(file: String)
    case atCapacity(retryAfterSeconds: Int)
    // 507: results could not be written (disk full, read-only, ...); `reason` names the cause
    case resultsNotStored(reason: String)
    // 500
    case internalError(reference: String)

    /// The command that installs missing model files; part of every 503 for a missing model.
    public static let installCommand = "facerestore models download"

    public var status: HTTPResponse.Status {
        switch self {
        case .noImage, .invalidImage, .invalidParameter, .malformedJSON, .malformedMultipart, .invalidBase64: .badRequest
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .bodyTooLarge, .imageTooLarge, .tooManyPixels, .batchTooLarge: .contentTooLarge
        case .unsupportedContentType: .unsupportedMediaType
        case .modelMissing, .atCapacity: .serviceUnavailable
        case .resultsNotStored: .insufficientStorage
        case .internalError: .internalServerError
        }
    }

    public var message: String {
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
        case .notFound(let path):
            "not found: \(path)"
        case .methodNotAllowed(let method, let path, let allowed):
            "\(method) is not allowed on \(path); use \(allowed.joined(separator: " or "))"
        case .bodyTooLarge(let limit):
            "request body is larger than the limit" + (limit.map { " of \(ByteCount.describe($0))" } ?? "")
        case .imageTooLarge(let image, let bytes, let limit):
            "\(image) is \(ByteCount.describe(bytes)), over the per-image limit of \(ByteCount.describe(limit))"
        case .tooManyPixels(let image, let width, let height, let limit):
            "\(image) is \(width)x\(height) = \(width.multipliedReportingOverflow(by: height).partialValue) pixels, over the limit of \(limit) pixels"
        case .batchTooLarge(let count, let limit):
            "\(count) images in one request, over the batch limit of \(limit)"
        case .unsupportedContentType(let type):
            "unsupported content type \(type.map { "'\($0)'" } ?? "(none given)"): send multipart/form-data or application/json"
        case .modelMissing(let file):
            "the model file \(file) is not installed on this server; install it with `\(Self.installCommand)` and restart the service"
        case .atCapacity(let seconds):
            "the service is at capacity; retry in \(seconds) s"
        case .resultsNotStored(let reason):
            "the server could not store the result: \(reason); nothing was kept, retry later"
        case .internalError(let reference):
            "internal error while processing the request (reference \(reference)); the server keeps running"
        }
    }

    /// Extra headers: `Retry-After` when at capacity, `Allow` for a wrong method.
    public var headers: HTTPFields {
        switch self {
        case .atCapacity(let seconds): [.retryAfter: String(seconds)]
        case .methodNotAllowed(_, _, let allowed): [.allow: allowed.joined(separator: ", ")]
        default: [:]
        }
    }
}

/// Names one input image in messages: its position when the request has several, and the name the
/// client gave it.
public struct ImageLabel: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int
    public let name: String

    public init(index: Int, count: Int, name: String) {
        self.index = index
        self.count = count
        self.name = name
    }

    public var description: String {
        count > 1 ? "image \(index) of \(count) ('\(name)')" : "image '\(name)'"
    }
}

extension ServiceError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(ErrorBody(message: message), status: status, headers: headers)
    }
}

/// The contract's error body.
struct ErrorBody: JSONRepresentable {
    let message: String

    var json: JSONDocument { .object([("status", .string("error")), ("message", .string(message))]) }
}
