/// What `/metrics` reads from the service each time it is scraped: gauges of things that change
/// on their own (the queue, the results folder) are set from this, never kept up to date by hand.
struct ScrapeState: Sendable {
    var queue: InferenceExecutor.Status
    var results: ResultStoreHealth
    var models: ModelInventory
}
