/// The registry's exposition made fit for `promtool check metrics` and for people: swift-metrics
/// handlers carry no help text, so each family gets its `# HELP` line here, and families come out
/// sorted by name instead of in the registry's hash order.
enum PrometheusText {
    /// The content type of the text format this produces.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func withHelp(_ exposition: String, families: [MetricFamily]) -> String {
        let help = Dictionary(families.map { ($0.name, $0.help) }, uniquingKeysWith: { first, _ in first })
        var blocks: [(name: String, lines: [Substring])] = []
        for line in exposition.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let name = String(line.dropFirst("# TYPE ".count).prefix { $0 != " " })
                blocks.append((name: name, lines: help[name].map { [Substring("# HELP \(name) \($0)"), line] } ?? [line]))
            } else if blocks.isEmpty {
                blocks.append((name: "", lines: [line]))
            } else {
                blocks[blocks.count - 1].lines.append(line)
            }
        }
        let text = blocks.sorted { $0.name < $1.name }.flatMap(\.lines).joined(separator: "\n")
        return text.isEmpty ? "" : text + "\n"
    }
}
