import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs `body(i)` for `i in 0..<count` on all cores (or `Parallelism.workers`). Used by the tensor core's own (memory-bound)
/// kernels; the heavy math runs inside oneDNN and OpenBLAS with their own threads.
///
/// The work goes to oneDNN's OpenMP threads when the process has them: after each oneDNN primitive
/// those threads spin for a while waiting for the next parallel region, so work handed to any other
/// pool (Dispatch's) competed with a spinning thread on every core (~9 % of a pipeline run).
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

/// libgomp's entry points, found at run time: OpenMP is a dependency of oneDNN, not of this package.
private struct OpenMP: @unchecked Sendable {
    typealias Parallel = @convention(c) (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    typealias Query = @convention(c) () -> Int32
    let parallel: Parallel
    let threadNumber: Query
    let threadCount: Query

    static let shared: OpenMP? = {
        guard let process = dlopen(nil, RTLD_NOW),
              let parallel = dlsym(process, "GOMP_parallel"),
              let number = dlsym(process, "omp_get_thread_num"),
              let count = dlsym(process, "omp_get_num_threads") else { return nil }
        return OpenMP(parallel: unsafeBitCast(parallel, to: Parallel.self), threadNumber: unsafeBitCast(number, to: Query.self),
                      threadCount: unsafeBitCast(count, to: Query.self))
    }()

    private final class Job {
        let count: Int
        let body: (Int) -> Void
        let openMP: OpenMP
        init(count: Int, body: @escaping (Int) -> Void, openMP: OpenMP) { (self.count, self.body, self.openMP) = (count, body, openMP) }
    }

    /// One parallel region of `workers` threads (fewer inside another region: OpenMP runs nested
    /// regions on the calling thread), each taking every `team size`-th index.
    func run(count: Int, workers: Int, _ body: @escaping (Int) -> Void) {
        let job = Unmanaged.passRetained(Job(count: count, body: body, openMP: self))
        defer { job.release() }
        parallel({ context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue()
            let team = Int(job.openMP.threadCount())
            var i = Int(job.openMP.threadNumber())
            while i < job.count {
                job.body(i)
                i += team
            }
        }, job.toOpaque(), UInt32(workers), 0)
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
