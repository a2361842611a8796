import Logging
import NIOCore
import NIOHTTP1
import HTTPTypes

/// Watches one connection between the HTTP decoder and the application, and keeps what the
/// application cannot see from inside a route:
/// - time limits (`ConnectionLimits`): idle connections are closed; a head that takes too long
///   gets 408; a body that stalls or trickles fails the route's read with `Interruption.bodyTimeout`
///   (the route answers 408);
/// - after a reply sent before the whole body arrived, `Connection: close` and a lingering close
///   (the rest of the body is read and dropped, boundedly), so every client sees the reply;
/// - protocol errors before a request reaches the application (garbage request line, bad
///   Content-Length, head too large, unknown method or version) get the contract's JSON error
///   with the fitting status (400, 414, 431, 501, 505) and CORS, then the connection is closed;
/// - on shutdown, a request still receiving its body is failed (`Interruption.shuttingDown`) so
///   the server never waits on a stalled upload.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Why a route's read of the body failed; `ErrorResponseMiddleware` answers for it.
    enum Interruption: Error, Equatable {
        case bodyTimeout
        case shuttingDown
    }

    private enum Phase {
        /// Between requests: no byte of the next one yet.
        case idle
        /// Bytes of a request arrived, its head is not complete.
        case readingHead
        /// The head went to the application; the body is arriving.
        case readingBody
        /// The whole request arrived; the application is working on the response.
        case responding
        /// A reply went out before the body ended: the rest is read and dropped, then we close.
        case lingering
        case closed
    }

    let limits: ConnectionLimits
    let logger: Logger
    private var phase = Phase.idle
    private var phaseStart = NIODeadline.now()
    private var lastByte = NIODeadline.now()
    private var bodyBytes = 0
    /// Bytes of the head read so far, and the length of its request line once a newline was
    /// seen: tells a URL that is too long (414) from header fields that are (431).
    private var headBytes = 0
    private var requestLineLength: Int?
    /// The request's first bytes: tell an unknown method (`PURGE /x`, 501) from garbage (400).
    private var requestStart: [UInt8] = []
    /// The current response began while the body was still arriving.
    private var repliedEarly = false
    /// The route's body read was failed; close once the reply is out (or soon, if none comes).
    private var closeAfterResponse = false
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    // MARK: Life cycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { enter(.idle) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        enter(.idle)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        phase = .closed
        context.fireChannelInactive()
    }

    /// Raw bytes arrived (from `InboundByteObserver`, ahead of the decoder).
    func bytesArrived(_ bytes: ByteBuffer) {
        lastByte = .now()
        switch phase {
        case .idle:
            headBytes = 0
            requestLineLength = nil
            requestStart = []
            enter(.readingHead)
            fallthrough
        case .readingHead:
            if requestLineLength == nil, let newline = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                requestLineLength = headBytes + (newline - bytes.readerIndex)
            }
            headBytes += bytes.readableBytes
            if requestStart.count < 32 { requestStart += bytes.readableBytesView.prefix(32 - requestStart.count) }
        default:
            break
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch phase {
        case .lingering:
            if case .end = part { close(context) }
            return
        case .closed:
            return
        default:
            break
        }
        switch part {
        case .head(let head):
            guard head.version.major == 1 else {
                reply(.httpVersionNotSupported("\(head.version.major).\(head.version.minor)"), context: context)
                return
            }
            repliedEarly = false
            closeAfterResponse = false
            bodyBytes = 0
            enter(.readingBody)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            if phase == .readingBody { enter(.responding) }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Nothing downstream asks for more while we drop a body; keep reading it.
        if phase == .lingering { context.read() }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        switch phase {
        case .readingBody:
            // The route is reading this body: its read fails and it answers 400 itself.
            closeAfterResponse = true
            context.fireErrorCaught(error)
        case .lingering, .closed:
            close(context)
        case .responding:
            // Bytes after a whole request are not a valid next one: the current reply goes out, then we close.
            logger.debug("HTTP protocol error in a pipelined request", metadata: ["error": "\(parserError)"])
            closeAfterResponse = true
        case .idle, .readingHead:
            logger.debug("HTTP protocol error before a request reached the application", metadata: ["error": "\(parserError)"])
            reply(serviceError(for: parserError), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, phase == .readingBody, !repliedEarly {
            // Shutting down: an upload still arriving (perhaps stalled) is not waited for.
            interruptBody(.shuttingDown, context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            if phase == .readingBody || closeAfterResponse {
                repliedEarly = phase == .readingBody
                head.headers.replaceOrAdd(name: "connection", value: "close")
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .end:
            let promise = promise ?? context.eventLoop.makePromise()
            promise.futureResult.hop(to: context.eventLoop).assumeIsolatedUnsafeUnchecked().whenSuccess { [self] in
                responseEnded(context)
            }
            context.write(data, promise: promise)
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    private func responseEnded(_ context: ChannelHandlerContext) {
        switch phase {
        case .readingBody:
            // Replied before the body ended: drop the rest of it, unless the read already failed.
            if closeAfterResponse {
                close(context)
            } else {
                enter(.lingering)
                context.read()
            }
        case .responding:
            if repliedEarly || closeAfterResponse { close(context) } else { enter(.idle) }
        default:
            break
        }
    }

    // MARK: Timers

    private func enter(_ next: Phase) {
        phase = next
        phaseStart = .now()
        lastByte = phaseStart
        schedule()
    }

    /// When the current phase's limit runs out, if nothing happens meanwhile.
    private var deadline: NIODeadline? {
        switch phase {
        case .idle: lastByte + TimeAmount(limits.idleTimeout)
        case .readingHead: phaseStart + TimeAmount(limits.headerTimeout)
        case .readingBody:
            closeAfterResponse ? nil : min(lastByte + TimeAmount(limits.bodyTimeout), rateDeadline)
        case .lingering: min(phaseStart + TimeAmount(limits.lingerTime), lastByte + TimeAmount(limits.lingerPause))
        case .responding, .closed: nil
        }
    }

    /// When a body arriving at exactly `minBodyRate` (after the `bodyTimeout` allowance) would be
    /// where this one is now.
    private var rateDeadline: NIODeadline {
        guard limits.minBodyRate > 0 else { return .distantFuture }
        return phaseStart + TimeAmount(limits.bodyTimeout) + .nanoseconds(Int64(Double(bodyBytes) / Double(limits.minBodyRate) * 1e9))
    }

    private func schedule() {
        cancelTimer()
        guard let context, let deadline else { return }
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            expire()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    /// A deadline passed: act if it still holds (bytes that arrived since may have moved it).
    private func expire() {
        guard let context, let deadline else { return }
        guard deadline <= .now() else {
            schedule()
            return
        }
        switch phase {
        case .idle, .lingering:
            close(context)
        case .readingHead:
            logger.debug("request head not complete in time; 408")
            reply(.requestTimeout("the request head did not arrive within \(DurationText.describe(limits.headerTimeout))"), context: context)
        case .readingBody:
            logger.debug("request body stalled or too slow; 408", metadata: ["bytes": "\(bodyBytes)"])
            interruptBody(.bodyTimeout, context: context)
        case .responding, .closed:
            break
        }
    }

    /// Fails the route's body read; the route's error reply then goes out with `Connection: close`.
    /// Should no reply come (the route is not reading), the connection is closed shortly after.
    private func interruptBody(_ reason: Interruption, context: ChannelHandlerContext) {
        closeAfterResponse = true
        context.fireErrorCaught(reason)
        cancelTimer()
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .seconds(2)) { [self] in
            if phase == .readingBody { close(context) }
        }
    }

    // MARK: Replies of our own

    /// Sends `error` as the contract's JSON (with CORS) and closes: only when no request is with
    /// the application, so there is no other reply to collide with.
    private func reply(_ error: ServiceError, context: ChannelHandlerContext) {
        guard phase != .closed else { return }
        phase = .closed
        cancelTimer()
        let requestId = RequestIdentifier.generate()
        let body = context.channel.allocator.buffer(string: ErrorBody(message: error.message, requestId: requestId).json.serialized)
        var headers = HTTPHeaders([
            ("content-type", "application/json; charset=utf-8"), ("content-length", String(body.readableBytes)),
            ("connection", "close"), ("access-control-allow-origin", "*"), ("x-request-id", requestId),
        ])
        for field in error.headers { headers.add(name: field.name.rawName, value: field.value) }
        let status = HTTPResponseStatus(statusCode: Int(error.status.code), reasonPhrase: error.status.reasonPhrase)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    private func close(_ context: ChannelHandlerContext) {
        guard phase != .closed else { return }
        phase = .closed
        cancelTimer()
        context.close(promise: nil)
    }

    /// Whether the request begins like `TOKEN ` (upper-case letters, then a space): an unknown
    /// method rather than bytes that are not HTTP at all.
    private var startsWithMethodToken: Bool {
        guard let space = requestStart.firstIndex(of: UInt8(ascii: " ")), space > 0 else { return false }
        return requestStart[..<space].allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// The status a protocol error deserves, with a message that says what was wrong.
    private func serviceError(for error: HTTPParserError) -> ServiceError {
        switch error {
        case .headerOverflow:
            (requestLineLength ?? .max) < limits.maxHeadBytes ? .headersTooLarge(limit: limits.maxHeadBytes) : .uriTooLong(limit: limits.maxHeadBytes)
        case .invalidMethod where startsWithMethodToken:
            .methodNotImplemented
        case .invalidVersion:
            .httpVersionNotSupported("in the request line")
        case .invalidContentLength, .unexpectedContentLength:
            .malformedRequest("invalid or repeated Content-Length")
        case .invalidChunkSize:
            .malformedRequest("invalid chunked body")
        case .invalidURL:
            .malformedRequest("invalid URL in the request line")
        default:
            .malformedRequest("not a valid HTTP/1.1 request (\(error))")
        }
    }
}

/// Tells `ConnectionGuard` when raw bytes arrive, before the HTTP decoder: the guard's header
/// timeout starts at a request's first byte, which the decoder does not report.
final class InboundByteObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connectionGuard: ConnectionGuard

    init(_ connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connectionGuard.bytesArrived(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}
