import Foundation

/// Wall-clock seconds per pipeline stage of one restoration, in the order the stages ran; a stage
/// that runs once per face accumulates.
package struct StageTimings: Sendable, Equatable {
    package private(set) var stages: [(name: String, seconds: Double)] = []

    package init() {}

    package var total: Double { stages.reduce(0) { $0 + $1.seconds } }

    package subscript(name: String) -> Double? { stages.first { $0.name == name }?.seconds }

    /// Adds `seconds` to stage `name` (moving them out of `from`, when given: a stage timed inside
    /// another).
    package mutating func add(_ name: String, _ seconds: Double, from outer: String? = nil) {
        if let outer, let i = stages.firstIndex(where: { $0.name == outer }) { stages[i].seconds -= seconds }
        if let i = stages.firstIndex(where: { $0.name == name }) { stages[i].seconds += seconds } else { stages.append((name, seconds)) }
    }

    /// Runs `body`, adding its duration to stage `name`.
    package mutating func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if let i = stages.firstIndex(where: { $0.name == name }) { stages[i].seconds += seconds } else { stages.append((name, seconds)) }
        }
        return try body()
    }

    /// `read 0.01 s, detect 0.20 s, ...`.
    package var summary: String {
        stages.map { String(format: "%@ %.2f s", $0.name, $0.seconds) }.joined(separator: ", ")
    }

    package static func == (a: StageTimings, b: StageTimings) -> Bool {
        a.stages.map(\.name) == b.stages.map(\.name) && a.stages.map(\.seconds) == b.stages.map(\.seconds)
    }
}
