import COpenBLAS
import Foundation
import TensorCore

/// Reference measurements taken in the same process as a network benchmark, so that network speed
/// can be reported as a ratio that survives a noisy, shared machine.
package enum KernelBenchmark {
    /// OpenBLAS sgemm throughput on `size`³ matrices: the best of `repetitions` runs, in GFLOP/s.
    /// Measure it after the network: OpenBLAS's threads keep spinning for a while afterwards.
    package static func sgemmGFLOPs(size: Int = 2048, repetitions: Int = 5) throws -> Double {
        let a = try Tensor(zeros: [size, size]), b = try Tensor(zeros: [size, size]), c = try Tensor(zeros: [size, size])
        for i in 0..<size * size {
            a.data[i] = Float(i % 7) * 0.1 - 0.3
            b.data[i] = Float(i % 5) * 0.1 - 0.2
        }
        var best = Double.infinity
        for _ in 0..<repetitions + 1 {
            let seconds = Clock.measure {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(size), Int32(size), Int32(size),
                            1, a.data, Int32(size), b.data, Int32(size), 0, c.data, Int32(size))
            }
            best = min(best, seconds)
        }
        return 2 * pow(Double(size), 3) / best / 1e9
    }

    /// Peak resident set size of this process so far, in megabytes (Linux `VmHWM`).
    package static func peakResidentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kilobytes / 1024
        }
        return 0
    }
}
