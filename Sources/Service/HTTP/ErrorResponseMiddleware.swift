import Foundation
import HTTPTypes
import Hummingbird
import JobDatabase
import Logging
import NIOCore
import NIOHTTP1
import TensorCore

/// Turns every error into the contract's error JSON with its status. Errors the service names
/// itself keep their message; Hummingbird's (unknown route, wrong method) get theirs; anything else
/// is a 500 whose message names nothing internal, while the log gets the full error under a
/// reference the client can quote. A failed request never takes the server down.
struct ErrorResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status != .notFound && error.status != .contentTooLarge
                    && (400..<500).contains(error.status.code) {
            // A client error Hummingbird itself raised: keep its status, in the contract's shape.
            return JSONResponse.make(ErrorBody(message: error.body ?? error.status.reasonPhrase, context: context), status: error.status, headers: error.headers)
        } catch {
            let failure = Self.serviceError(for: error, path: request.uri.path)
            if Self.isClientFault(error) {
                context.logger.debug("request body unreadable", metadata: ["error": "\(error)"])
            }
            if case .internalError(let reference) = failure {
                if error is CancellationError {
                    context.logger.debug("request cancelled (client gone or server stopping)", metadata: ["reference": "\(reference)"])
                } else {
                    context.logger.error("request failed with an unexpected error",
                                         metadata: ["reference": "\(reference)", "error": "\(String(reflecting: error))"])
                }
            }
            return try failure.response(from: request, context: context)
        }
    }

    /// Errors of the client's making while its body was read (bad framing, a connection closed
    /// mid-body): answered with 400 and logged at debug, not as server failures.
    static func isClientFault(_ error: any Error) -> Bool {
        error is HTTPParserError || error is ChannelError || error is IOError
    }

    /// The client's view of `error`, raised while answering a request for `path`.
    static func serviceError(for error: any Error, path: String) -> ServiceError {
        switch error {
        case let error as ServiceError:
            return error
        case let error as HTTPError where error.status == .notFound:
            return .notFound(path: String(path.prefix(200)))
        case let error as HTTPError where error.status == .contentTooLarge:
            return .bodyTooLarge(limit: nil)
        case is NIOTooManyBytesError:
            return .bodyTooLarge(limit: nil)
        case ConnectionGuard.Interruption.bodyTimeout:
            return .requestTimeout("the request body stopped arriving, or arrived too slowly")
        case ConnectionGuard.Interruption.shuttingDown:
            return .shuttingDown
        case is DatabaseError:
            return .databaseUnavailable(retryAfterSeconds: 5)
        case let error as ComputeError where error.isResourceExhaustion:
            // Any other ComputeError (a layer oneDNN cannot build) is a 500 with its details in the log.
            return .outOfMemory(retryAfterSeconds: ServiceError.outOfMemoryRetrySeconds)
        case let error as HTTPParserError:
            return .malformedRequest("the request body is not valid HTTP framing (\(error))")
        case is ChannelError, is IOError:
            return .malformedRequest("the connection ended before the request body was complete")
        default:
            return .internalError(reference: String(format: "%08x", UInt32.random(in: 0...UInt32.max)))
        }
    }
}
