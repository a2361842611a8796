/// The samples of a Prometheus text exposition, by series as written (`name{label="value",...}`),
/// for tests that check what `/metrics` says.
struct MetricSamples {
    let text: String
    let values: [String: Double]

    init(_ text: String) {
        self.text = text
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        self.values = values
    }

    subscript(_ series: String) -> Double? { values[series] }

    /// The series of one metric name (its samples, histograms' `_bucket`, `_sum`, `_count` excluded).
    func series(named name: String) -> [String: Double] {
        values.filter { $0.key == name || $0.key.hasPrefix(name + "{") }
    }

    /// The lines `# HELP` and `# TYPE` name, in order.
    var typeLines: [String] { text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map(String.init) }
    var helpLines: [String] { text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map(String.init) }
}
