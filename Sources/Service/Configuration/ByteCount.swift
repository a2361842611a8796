import Foundation

/// Byte sizes as people write them in flags and environment variables: `64MiB`, `64M`, `500k`,
/// `1048576`. K, M and G are powers of 1024 however they are spelled (KB, KiB, K), since the limits
/// guard memory, which comes in binary units.
package enum ByteCount {
    package static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multiplier: Double
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1024
        case "m", "mb", "mib": multiplier = 1024 * 1024
        case "g", "gb", "gib": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        let value = (number * multiplier).rounded()
        guard value < Double(Int.max) else { return nil }
        return Int(value)
    }

    /// `64 MiB`, `1.5 MiB`, `300 bytes`.
    package static func describe(_ bytes: Int) -> String {
        let units: [(Int, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, name) in units where bytes >= size {
            if bytes % size == 0 { return "\(bytes / size) \(name)" }
            return String(format: "%.1f %@", Double(bytes) / Double(size), name)
        }
        return bytes == 1 ? "1 byte" : "\(bytes) bytes"
    }
}

/// Durations for the retention setting: `90s`, `30m`, `1h`, `2d`, `0.5s`; a bare number is seconds.
package enum DurationText {
    package static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        let seconds: Double
        switch trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces) {
        case "", "s", "sec", "second", "seconds": seconds = number
        case "m", "min", "minute", "minutes": seconds = number * 60
        case "h", "hour", "hours": seconds = number * 3600
        case "d", "day", "days": seconds = number * 86400
        default: return nil
        }
        guard seconds < 1e12 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// `1h`, `30m`, `45s`, `1.5s`: the largest unit that divides the duration.
    package static func describe(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        for (size, unit) in [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")] where ms >= size && ms % Int64(size) == 0 {
            return "\(ms / Int64(size))\(unit)"
        }
        return String(format: "%.3gs", Double(ms) / 1000)
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var timeInterval: TimeInterval { Double(milliseconds) / 1000 }
}
