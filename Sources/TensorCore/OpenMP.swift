#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libgomp's entry points, found at run time: OpenMP is a dependency of oneDNN, not of this package.
struct OpenMP: @unchecked Sendable {
    typealias Parallel = @convention(c) (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    typealias Query = @convention(c) () -> Int32
    let parallel: Parallel
    let threadNumber: Query
    let threadCount: Query

    /// The runtime's parallel-region entry points, or nil when the process has no libgomp.
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

    /// `omp_set_num_threads`: the team size of the parallel regions the calling thread starts
    /// (oneDNN's included). Nil without libgomp.
    static let setThreadCount: (@convention(c) (Int32) -> Void)? = {
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
    }()
}
