/// What `/metrics` reads from the service each time it is scraped: gauges of things that change
/// on their own (the queue, the results folder) are set from this, never kept up to date by hand.
struct ScrapeState: Sendable {
    var queue: InferenceExecutor.Status
    var results: ResultStoreHealth
    var models: ModelInventory
    /// Restorations running now: 0 or 1 in one process, any number in a cluster.
    var runningJobs: Int
    /// Jobs by state (`ServiceMetrics.jobStates`), those not yet expired.
    var jobCounts: [String: Int]
}
