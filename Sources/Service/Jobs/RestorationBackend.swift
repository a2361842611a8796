import Foundation
import Restoration

/// Where accepted restorations go and where their jobs and results are found: this process
/// (`LocalBackend`, the default: the inference thread, jobs in memory, the results folder) or a
/// cluster's PostgreSQL database (`ClusterBackend`, `--store`). The routes speak only to this, so
/// every request rule (the intake's checks, the statuses, the job object) is the same for both.
protocol RestorationBackend: Sendable {
    /// `POST /api/process`: restores the batch while the caller waits and returns its items; errors
    /// are the `ServiceError`s the client gets (504 after `timeout`, queue included).
    func restore(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> [ProcessResponse.Item]
    /// `POST /api/jobs`: queues the batch as a job that must end within `timeout`; returns its id.
    /// Takes over the accepted upload's reservation.
    func submitJob(_ accepted: RestorationIntake.Accepted, client: String?, timeout: Duration) async throws -> String
    /// The job as `GET /api/jobs/{id}` shows it; nil when unknown or expired.
    func job(_ id: String) async throws -> JobSnapshot?
    /// `DELETE /api/jobs/{id}`: the job after asking it to stop; nil when unknown or expired.
    func cancelJob(_ id: String) async throws -> JobSnapshot?
    /// The job's snapshots from now on, ending after its final state; nil when unknown or expired.
    func watchJob(_ id: String) async throws -> AsyncStream<JobSnapshot>?
    /// A result file's bytes; nil when there is none or it expired.
    func result(_ name: String) async throws -> Data?
    /// Seconds `client` should wait when there is no place in the queue for it now (it is then put
    /// in line), else nil: for refusing a request before its body is read.
    func retryAfterIfFull(client: String?) async throws -> Int?
    /// Seconds until a place in the queue is expected to free.
    func secondsUntilNextSlot() async -> Int
    /// What the models a restoration with `options` needs look like from here: the first one no
    /// one can run, and why; nil when all can run.
    func firstUnavailable(for options: RestorationOptions) async throws -> (file: String, state: ModelInventory.State)?
    /// The models as `/api/health` and `/api/ready` report them.
    func inventory() async -> ModelInventory
    /// The queue, results, models and jobs now, for `/api/health` and `/metrics`.
    func scrapeState() async -> ScrapeState
    /// Ends every job event stream (the server is stopping).
    func endWatches()
}
