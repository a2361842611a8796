package import Hummingbird
package import NIOCore

/// The context of every request: Hummingbird's core plus the peer's address, which names a
/// client for the queue's waitlist (`AdmissionWaitlist`), and what the request's telemetry needs.
package struct ServiceRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?
    /// The request's `X-Request-Id`, set by `RequestTelemetryMiddleware`; error bodies quote it.
    var requestId: String?
    /// What the route adds to the request's access log line.
    let logFields = RequestLogFields()

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client, as the queue tells clients apart: its IP address.
    var client: String? { remoteAddress?.ipAddress }
}
