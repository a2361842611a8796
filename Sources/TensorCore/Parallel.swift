import Dispatch
import Foundation

/// Runs `body(i)` for `i in 0..<count` on all cores (or `Parallelism.workers`). Used by the tensor core's own (memory-bound)
/// kernels; the heavy math runs inside oneDNN with its own threads.
///
/// The work goes to oneDNN's OpenMP threads when the process has them: after each oneDNN primitive
/// those threads spin for a while waiting for the next parallel region, so work handed to any other
/// pool (Dispatch's) competed with a spinning thread on every core.
package func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    let workers = min(count, Parallelism.workers)
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        if let openMP = OpenMP.shared {
            openMP.run(count: count, workers: workers, body)
            return
        }
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

/// Runs `body` over `0..<count` split into contiguous ranges of `chunk` elements, on all cores: the
/// shape of every element-wise loop over a tensor's storage.
package func parallelForChunks(_ count: Int, chunk: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
    parallelFor((count + chunk - 1) / chunk) { i in body(i * chunk..<min(count, (i + 1) * chunk)) }
}

/// Carries a value the compiler cannot prove thread-safe across a concurrency boundary; used where
/// the work is split into disjoint index ranges by construction.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A buffer's base pointer handed to `parallelFor` workers that write disjoint parts of it.
package struct SharedPointer<Element>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Element>
    package init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
    /// For buffers only read by the workers.
    package init(reading pointer: UnsafePointer<Element>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}
