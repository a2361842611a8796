import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Observes every request the router answers. Before the route: gives the request its id
/// (`RequestIdentifier`) in the context (error bodies quote it) and in the logger's metadata (every
/// line the request logs carries it). After: sets `X-Request-Id` on the response and, once the
/// response body has been written, counts the request in the metrics and writes its one access log
/// line. Added first, outside `ErrorResponseMiddleware`, so errors are seen with their final status.
struct RequestTelemetryMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = RequestIdentifier.resolve(request.headers[.requestId])
        var context = context
        context.requestId = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // ErrorResponseMiddleware answers every error; should one still get past it, it counts.
            report(request, context, status: (error as? any HTTPResponseError)?.status ?? .internalServerError, bytesOut: 0, since: start)
            throw error
        }
        response.headers[.requestId] = id
        let status = response.status
        let observation = BodyObservation { [context] bytesOut in
            report(request, context, status: status, bytesOut: bytesOut, since: start)
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer.map { buffer in
                    observation.count(buffer.readableBytes)
                    return buffer
                })
            } catch {
                observation.finish()
                throw error
            }
            observation.finish()
        }
        return response
    }

    /// The route label: the template the router matched, or `unmatched`.
    static func route(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return "unmatched" }
        return endpointPath
    }

    private func report(_ request: Request, _ context: Context, status: HTTPResponse.Status, bytesOut: Int,
                        since start: ContinuousClock.Instant) {
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let route = Self.route(context.endpointPath)
        metrics.request(route: route, method: request.method.rawValue, status: status.code, seconds: seconds)

        let bytesIn = context.logFields.bytesIn ?? request.headers[.contentLength].flatMap { Int($0) } ?? 0
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestId ?? ""),
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "path": .string(String(request.uri.path.prefix(200))),
            "status": .stringConvertible(status.code),
            "bytes_in": .stringConvertible(bytesIn),
            "bytes_out": .stringConvertible(bytesOut),
            "duration_ms": .string(String(format: "%.1f", seconds * 1000)),
        ]
        if let faces = context.logFields.faces {
            metadata["faces_found"] = .stringConvertible(faces.found)
            metadata["faces_restored"] = .stringConvertible(faces.restored)
        }
        // The line names the request by request_id alone, not also by Hummingbird's own counter.
        var logger = context.logger
        logger[metadataKey: "hb.request.id"] = nil
        logger.info("request", metadata: metadata)
    }
}

/// Counts a response body's bytes as they are written and reports once: when the body is done or
/// failed, or, for a body never written (a HEAD response, a client gone before the head went out),
/// when the response is dropped.
private final class BodyObservation: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0
    private var reported = false
    private let report: @Sendable (_ bytesOut: Int) -> Void

    init(report: @escaping @Sendable (_ bytesOut: Int) -> Void) {
        self.report = report
    }

    deinit {
        finish()
    }

    func count(_ byteCount: Int) {
        lock.withLock { bytes += byteCount }
    }

    func finish() {
        let total: Int? = lock.withLock {
            if reported { return nil }
            reported = true
            return bytes
        }
        if let total { report(total) }
    }
}
