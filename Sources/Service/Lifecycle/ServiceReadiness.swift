import Foundation

/// Whether the service should be sent work: warmed up, and not draining for a shutdown. Read by
/// `/api/ready` (load balancers, Kubernetes probes) and by the routes that take new work.
final class ServiceReadiness: @unchecked Sendable {
    private let lock = NSLock()
    private var warmedUp = false
    private var drainingSince: ContinuousClock.Instant?

    var isWarmedUp: Bool { lock.withLock { warmedUp } }
    var isDraining: Bool { lock.withLock { drainingSince != nil } }
    /// How long the service has been draining; nil while it is not.
    var drainingFor: Duration? { lock.withLock { drainingSince.map { .now - $0 } } }

    func markWarmedUp() { lock.withLock { warmedUp = true } }

    /// From now on new work is refused with 503 and readiness says so; it does not end.
    func startDraining() { lock.withLock { drainingSince = drainingSince ?? .now } }
}
