import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel with a `ConnectionGuard` between the HTTP decoder and the
/// application, and an `InboundByteObserver` in front of the decoder. Hummingbird's own
/// `additionalChannelHandlers` sit after the conversion to HTTP types, where protocol errors and
/// the request's first byte are no longer visible; hence this wrapper.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let connectionGuard = ConnectionGuard(limits: limits, logger: logger)
            try operations.addHandler(connectionGuard, position: .before(operations.handler(type: HTTP1ToHTTPServerCodec.self)))
            try operations.addHandler(InboundByteObserver(connectionGuard), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with `ConnectionGuard` on every connection; `additionalChannelHandlers` are made
    /// anew for each connection, after the conversion to HTTP types.
    static func guardedHTTP1(limits: ConnectionLimits,
                             additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler]) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let configuration = HTTP1Channel.Configuration(
                additionalChannelHandlers: additionalChannelHandlers(),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeadBytes, maxHeaderListSize: limits.maxHeadBytes))
            return GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration), limits: limits)
        }
    }
}
