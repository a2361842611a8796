import Dispatch
import Foundation

/// Runs `body(i)` for `i in 0..<count` on all cores. Used by the tensor core's own (memory-bound)
/// kernels; the heavy math runs inside oneDNN and OpenBLAS with their own threads.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    let workers = min(count, ProcessInfo.processInfo.activeProcessorCount)
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < count {
                shared.value(i)
                i += workers
            }
        }
    }
}

/// Carries a value the compiler cannot prove thread-safe across a concurrency boundary; used where
/// the work is split into disjoint index ranges by construction.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
