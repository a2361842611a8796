import Foundation

/// A one-line text progress bar for downloads and checksums: redrawn in place on a terminal, at most
/// ten times a second; on a pipe or file, one line per tenth so logs stay readable.
package final class ProgressBar: @unchecked Sendable {
    package typealias Sink = @Sendable (String) -> Void

    private let label: String
    private let interactive: Bool
    private let sink: Sink
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastTenth = -1
    private let started = Date()
    private var finished = false

    /// - Parameters:
    ///   - interactive: redraw in place (`\r`); default: whether standard error is a terminal.
    ///   - sink: where text goes; default: standard error.
    package init(label: String, interactive: Bool = isatty(2) == 1, sink: @escaping Sink = ProgressBar.standardError) {
        self.label = label
        self.interactive = interactive
        self.sink = sink
    }

    package static let standardError: Sink = { FileHandle.standardError.write(Data($0.utf8)) }

    /// Reports `done` of `total` bytes (total nil: unknown).
    package func update(done: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        let now = Date()
        if interactive {
            guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            sink("\r" + Self.render(label: label, done: done, total: total, seconds: now.timeIntervalSince(started)))
        } else if let total, total > 0 {
            let tenth = Int(done * 10 / total)
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            sink(Self.render(label: label, done: done, total: total, seconds: now.timeIntervalSince(started)) + "\n")
        }
    }

    /// Draws the final state and ends the line.
    package func finish(done: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        let line = Self.render(label: label, done: done, total: total, seconds: Date().timeIntervalSince(started))
        if interactive {
            sink("\r" + line + "\n")
        } else if lastTenth < 10 {
            sink(line + "\n")
        }
    }

    /// `codeformer.pth [#########-----------]  45%  161.6/359.2 MiB  12.3 MiB/s`
    package static func render(label: String, done: Int64, total: Int64?, seconds: Double, width: Int = 24) -> String {
        let mib = 1024.0 * 1024.0
        let rate = seconds > 0 ? Double(done) / mib / seconds : 0
        guard let total, total > 0 else {
            return label + String(format: " %.1f MiB  %.1f MiB/s", Double(done) / mib, rate)
        }
        let fraction = min(1, max(0, Double(done) / Double(total)))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return label + " [" + bar + "]" + String(format: " %3d%%  %.1f/%.1f MiB  %.1f MiB/s", Int((fraction * 100).rounded(.down)),
                                                 Double(done) / mib, Double(total) / mib, rate)
    }
}
