import Foundation

/// What a route knows about its request that the access log line should carry: the body bytes it
/// read and the faces it found and restored. Shared by every copy of the request's context (a
/// reference), written by the route, read by `RequestTelemetryMiddleware` when the response ends.
final class RequestLogFields: @unchecked Sendable {
    private let lock = NSLock()
    private var storedBytesIn: Int?
    private var storedFaces: (found: Int, restored: Int)?

    /// The request body's length as the route read it.
    var bytesIn: Int? {
        get { lock.withLock { storedBytesIn } }
        set { lock.withLock { storedBytesIn = newValue } }
    }

    /// Faces found and restored, if the route restored anything.
    var faces: (found: Int, restored: Int)? { lock.withLock { storedFaces } }

    /// Adds the faces of one restored image (a batch adds each).
    func addFaces(found: Int, restored: Int) {
        lock.withLock {
            let sum = storedFaces ?? (0, 0)
            storedFaces = (sum.found + found, sum.restored + restored)
        }
    }
}
