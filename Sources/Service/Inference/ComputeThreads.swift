#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

/// Applies `--threads` to the math libraries. oneDNN runs on OpenMP, whose thread count is a
/// per-thread setting (`omp_set_num_threads` affects parallel regions the calling thread starts), so
/// it is set on the inference thread itself. OpenMP is reached through `dlsym` because it is a
/// dependency of oneDNN rather than of this package; without it (another oneDNN build), only the
/// tensor core's own loops are limited.
enum ComputeThreads {
    static func applyToCurrentThread(_ threads: Int?) {
        guard let threads else { return }
        Parallelism.limitWorkers(to: threads)
        typealias SetThreads = @convention(c) (Int32) -> Void
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "omp_set_num_threads") else { return }
        unsafeBitCast(symbol, to: SetThreads.self)(Int32(clamping: threads))
    }
}
