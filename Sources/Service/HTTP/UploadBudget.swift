import Foundation

/// The bytes of request bodies the service holds at once: being received, waiting in the queue
/// and being restored. A request reserves its declared length (or the body limit, when the length
/// is not declared) before reading its body; beyond the budget it is refused with 503 and
/// Retry-After, so many large or stalled uploads cannot take the memory of the machine.
final class UploadBudget: @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var reserved = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Reserves `bytes`, or returns nil when they do not fit. A request larger than the whole
    /// budget is let through only when nothing else is reserved, so it is never refused forever.
    func reserve(_ bytes: Int) -> Reservation? {
        lock.withLock {
            guard reserved == 0 || reserved + bytes <= capacity else { return nil }
            reserved += bytes
            return Reservation(budget: self, bytes: bytes)
        }
    }

    fileprivate func release(_ bytes: Int) {
        lock.withLock { reserved -= bytes }
    }

    /// Bytes held until released (at the latest when the reservation is dropped).
    final class Reservation: @unchecked Sendable {
        private let budget: UploadBudget
        private let bytes: Int
        private var released = false
        private let lock = NSLock()

        fileprivate init(budget: UploadBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        func release() {
            let first = lock.withLock { () -> Bool in
                defer { released = true }
                return !released
            }
            if first { budget.release(bytes) }
        }

        deinit {
            release()
        }
    }
}
