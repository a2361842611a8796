import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's own figures for `process_resident_memory_bytes` and `process_start_time_seconds`,
/// read from procfs (Linux); nil where there is none.
enum ProcessStatistics {
    /// Resident set size: `/proc/self/statm`'s second field, in pages.
    static func residentMemoryBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Seconds since the Unix epoch when the process started: the boot time (`/proc/stat`'s
    /// `btime`) plus the process's start in clock ticks after boot (`/proc/self/stat`'s 22nd
    /// field). Read once; it does not change.
    static let startTime: Double? = {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, let ticks = Double(fields[19]),
              let line = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(line.dropFirst("btime ".count)) else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()
}
