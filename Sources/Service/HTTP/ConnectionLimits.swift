/// How long a connection may take over each part of a request, so that slow, stalled or idle
/// clients cannot hold connections, memory or a shutdown forever. Enforced by `ConnectionGuard`.
package struct ConnectionLimits: Sendable, Equatable {
    /// A connection with no request in progress is closed after this long without a byte.
    package var idleTimeout: Duration = .seconds(60)
    /// A request's head (request line and header fields) must be complete this long after its
    /// first byte arrived; else 408.
    package var headerTimeout: Duration = .seconds(10)
    /// The longest pause while a body arrives, and the allowance before `minBodyRate` applies:
    /// a body must arrive by `start + bodyTimeout + bytes / minBodyRate` (Apache's MinRate), so a
    /// client that trickles bytes is cut off as surely as one that stalls. Then 408.
    package var bodyTimeout: Duration = .seconds(20)
    /// Bytes per second a body must average (see `bodyTimeout`).
    package var minBodyRate = 16 << 10
    /// After a reply sent before the whole body arrived (413, 415, 503), the rest of the body is
    /// read and dropped for at most this long, then the connection is closed: closing at once
    /// would reset it, and many clients (urllib, anything sending `Connection: close`) then never
    /// read the reply; not closing leaves them waiting. nginx calls this lingering close.
    package var lingerTime: Duration = .seconds(10)
    /// Lingering ends early when the client pauses this long.
    package var lingerPause: Duration = .seconds(2)
    /// The largest request head (request line and header fields), as the HTTP decoder enforces it.
    package var maxHeadBytes = 80 << 10

    package init() {}
}
