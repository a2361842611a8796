import Foundation

/// Counts the floating-point operations of convolutions and matrix products while enabled, so a
/// benchmark can report achieved GFLOP/s from the work actually done rather than a hand count.
package enum FlopCounter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var total: Double = 0
    nonisolated(unsafe) private static var enabled = false

    /// Runs `body` with counting on and returns its result with the FLOPs it performed.
    package static func measure<T>(_ body: () throws -> T) rethrows -> (result: T, flops: Double) {
        lock.withLock { total = 0; enabled = true }
        defer { lock.withLock { enabled = false } }
        let result = try body()
        return (result, lock.withLock { total })
    }

    static func add(_ flops: Double) {
        lock.withLock { if enabled { total += flops } }
    }
}
