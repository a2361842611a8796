package import Foundation
import Logging
import PostgresNIO

/// The queue: the `SELECT … FOR UPDATE SKIP LOCKED` design of Oban, River and graphile-worker.
/// Workers claim the oldest queued job with a lease they renew while it runs; a job whose lease runs
/// out (its worker was killed or cut off) goes back to the queue for another worker, up to its
/// attempts. Only the worker holding the lease can finish a job, and its results are written in the
/// same transaction as the final state, so a job's results are written once or not at all.
extension JobDatabase {
    /// Advisory lock held while counting and adding queued jobs, so the cluster's queue bound holds
    /// when replicas submit at the same moment.
    static let queueLockKey: Int64 = 0x6661_6365_7175_6575  // "facequeu"

    /// Queues `job` unless `capacity` jobs are already waiting.
    package func submit(_ job: NewJob, capacity: Int) async throws(DatabaseError) -> Admission {
        let (logger, timeout) = (self.logger, job.timeout.seconds)
        let (status, message) = job.timeoutFailure.columns
        return try await perform("queueing a job") { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.queueLockKey))", logger: logger)
                let waiting = try await connection.query("SELECT count(*) FROM facerestore_jobs WHERE state = 'queued'",
                                                         logger: logger).single(Int.self) ?? 0
                guard waiting < capacity else { return Admission.full(waiting: waiting) }
                try await connection.query("""
                    INSERT INTO facerestore_jobs (id, state, request, images, client, deadline_at, timeout_status, timeout_message,
                                                  retention_seconds, max_attempts)
                    VALUES (\(job.id), 'queued', \(job.request), \(job.inputs.count), \(job.client),
                            now() + \(timeout) * interval '1 second', \(status), \(message), \(job.retention.seconds), \(job.maxAttempts))
                    """, logger: logger)
                for (position, data) in job.inputs.enumerated() {
                    try await connection.query(
                        "INSERT INTO facerestore_job_inputs (job_id, position, data) VALUES (\(job.id), \(position), \(data))",
                        logger: logger)
                }
                return Admission.queued
            }
        }
    }

    /// Takes the oldest queued job that is still within its deadline for `worker`, with a lease of
    /// `lease`; nil when none waits.
    package func claim(worker: String, lease: Duration) async throws(DatabaseError) -> ClaimedJob? {
        let logger = self.logger
        return try await perform("claiming a job") { client in
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query("""
                    UPDATE facerestore_jobs
                    SET state = 'running', attempts = attempts + 1, lease_owner = \(worker),
                        lease_expires_at = now() + \(lease.seconds) * interval '1 second', started_at = now(), updated_at = now(),
                        progress = NULL, cancel_requested = false
                    WHERE id = (SELECT id FROM facerestore_jobs WHERE state = 'queued' AND deadline_at > now()
                                ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)
                    RETURNING id, request, attempts, extract(epoch FROM deadline_at - now())::float8, timeout_status, timeout_message,
                              retention_seconds
                    """, logger: logger)
                var claimed: ClaimedJob?
                for try await (id, request, attempt, left, status, message, retention)
                    in rows.decode((String, String, Int, Double, Int, String, Double).self) {
                    claimed = ClaimedJob(id: id, request: request, inputs: [], attempt: attempt, timeLeft: .seconds(max(0, left)),
                                         timeoutFailure: .reported(status: status, message: message), retention: .seconds(retention))
                }
                guard var job = claimed else { return nil as ClaimedJob? }
                let inputs = try await connection.query(
                    "SELECT data FROM facerestore_job_inputs WHERE job_id = \(job.id) ORDER BY position", logger: logger)
                for try await data in inputs.decode(Data.self) { job.inputs.append(data) }
                return job
            }
        }
    }

    /// Extends `worker`'s lease on job `id`; tells whether it still holds it and whether a client
    /// asked to cancel.
    package func renew(_ id: String, worker: String, lease: Duration) async throws(DatabaseError) -> LeaseState {
        try await perform("renewing a lease") { client in
            let rows = try await client.query("""
                UPDATE facerestore_jobs SET lease_expires_at = now() + \(lease.seconds) * interval '1 second'
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                RETURNING cancel_requested
                """)
            guard let cancel = try await rows.single(Bool.self) else { return LeaseState.lost }
            return .held(cancelRequested: cancel)
        }
    }

    /// Records how far the job is (the service's progress JSON) while `worker` holds it.
    package func reportProgress(_ id: String, worker: String, progress: String) async throws(DatabaseError) {
        try await perform("recording progress") { client in
            try await client.query("""
                UPDATE facerestore_jobs SET progress = \(progress), updated_at = now()
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                """)
        }
    }

    /// Ends job `id` as succeeded with `results` (the service's JSON) and stores `files` for the
    /// job's retention, all in one transaction; false, with nothing written, when `worker` no
    /// longer holds the job. A file already stored under its name (an earlier attempt) is kept.
    @discardableResult
    package func succeed(_ id: String, worker: String, results: String, files: [(name: String, data: Data)]) async throws(DatabaseError) -> Bool {
        let logger = self.logger
        let files = files.map { SendableFile(name: $0.name, data: $0.data) }
        return try await perform("storing a job's results", timeout: max(operationTimeout, .seconds(30))) { client in
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query("""
                    UPDATE facerestore_jobs
                    SET state = 'succeeded', results = \(results), finished_at = now(), updated_at = now(), progress = NULL,
                        finished_by = lease_owner,
                        lease_owner = NULL, lease_expires_at = NULL, cancel_requested = false
                    WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                    RETURNING retention_seconds
                    """, logger: logger)
                guard let retention = try await rows.single(Double.self) else { return false }
                for file in files {
                    try await connection.query("""
                        INSERT INTO facerestore_results (name, job_id, data, expires_at)
                        VALUES (\(file.name), \(id), \(file.data), now() + \(retention) * interval '1 second')
                        ON CONFLICT (name) DO NOTHING
                        """, logger: logger)
                }
                try await connection.query("DELETE FROM facerestore_job_inputs WHERE job_id = \(id)", logger: logger)
                return true
            }
        }
    }

    /// Ends job `id` as failed (or cancelled, when `failure` is nil) while `worker` holds it; false
    /// when it no longer does.
    @discardableResult
    package func finish(_ id: String, worker: String, failure: JobFailure?) async throws(DatabaseError) -> Bool {
        let state = failure == nil ? "cancelled" : "failed"
        let (status, message) = failure?.columns ?? (nil, nil)
        return try await perform("ending a job") { client in
            let rows = try await client.query("""
                UPDATE facerestore_jobs
                SET state = \(state), error_status = \(status), error_message = \(message), finished_at = now(), updated_at = now(),
                    finished_by = lease_owner,
                    progress = NULL, lease_owner = NULL, lease_expires_at = NULL, cancel_requested = false
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                RETURNING id
                """)
            return try await rows.single(String.self) != nil
        }
    }

    /// Gives job `id` back to the queue without counting the attempt (its worker is shutting down).
    package func release(_ id: String, worker: String) async throws(DatabaseError) {
        try await perform("giving a job back") { client in
            try await client.query("""
                UPDATE facerestore_jobs
                SET state = 'queued', attempts = greatest(attempts - 1, 0), progress = NULL, lease_owner = NULL,
                    lease_expires_at = NULL, updated_at = now()
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                """)
        }
    }

    /// A client's cancel: a queued job is cancelled at once, a running one is flagged for its worker
    /// (which stops at its next face or tile); a finished job stays as it is. Returns the job, or nil
    /// when there is none (or it expired).
    package func cancel(_ id: String) async throws(DatabaseError) -> JobRecord? {
        try await perform("cancelling a job") { client in
            try await client.query("""
                UPDATE facerestore_jobs
                SET state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                    finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
                    cancel_requested = (state = 'running'), updated_at = now()
                WHERE id = \(id) AND state IN ('queued', 'running')
                """)
        }
        return try await job(id)
    }

    /// Fails job `id` with `failure` if it has not started yet (a synchronous caller gave up on it).
    package func failIfQueued(_ id: String, failure: JobFailure) async throws(DatabaseError) {
        let (status, message) = failure.columns
        try await perform("ending a queued job") { client in
            try await client.query("""
                UPDATE facerestore_jobs SET state = 'failed', error_status = \(status), error_message = \(message),
                    finished_at = now(), updated_at = now()
                WHERE id = \(id) AND state = 'queued'
                """)
        }
    }

    /// The job with `id` as it is now; nil when unknown or finished longer ago than its retention.
    package func job(_ id: String) async throws(DatabaseError) -> JobRecord? {
        try await perform("reading a job") { client in
            let rows = try await client.query("""
                SELECT j.id, j.state, j.request, j.images, j.created_at, j.updated_at, j.finished_at, j.retention_seconds,
                       CASE WHEN j.state = 'queued'
                            THEN (SELECT count(*) FROM facerestore_jobs q WHERE q.state = 'queued' AND q.seq <= j.seq) END,
                       j.attempts, j.cancel_requested, j.progress, j.results, j.error_status, j.error_message
                FROM facerestore_jobs j
                WHERE j.id = \(id) AND (j.finished_at IS NULL OR j.finished_at + j.retention_seconds * interval '1 second' > now())
                """)
            var record: JobRecord?
            for try await row in rows {
                let (id, state, request, images, created, updated, finished, retention) =
                    try row.decode((String, String, String, Int, Date, Date, Date?, Double).self)
                let columns = try Array(row.makeRandomAccess().dropFirst(8))
                let position = try columns[0].decode(Int?.self)
                let attempts = try columns[1].decode(Int.self)
                let cancel = try columns[2].decode(Bool.self)
                let progress = try columns[3].decode(String?.self)
                let results = try columns[4].decode(String?.self)
                let status = try columns[5].decode(Int?.self)
                let message = try columns[6].decode(String?.self)
                let jobState = JobState(rawValue: state) ?? .failed
                record = JobRecord(id: id, state: jobState, request: request, images: images, createdAt: created, updatedAt: updated,
                                   finishedAt: finished, retention: .seconds(retention), queuePosition: position, attempts: attempts,
                                   cancelRequested: cancel, progress: progress, results: results,
                                   failure: jobState == .failed ? JobFailure(status: status, message: message, attempts: attempts) : nil)
            }
            return record
        }
    }

    /// Jobs waiting and running in the whole cluster.
    package func queueCounts() async throws(DatabaseError) -> (waiting: Int, running: Int) {
        try await perform("counting the queue") { client in
            let rows = try await client.query("""
                SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running')
                FROM facerestore_jobs WHERE state IN ('queued', 'running')
                """)
            var counts = (waiting: 0, running: 0)
            for try await (waiting, running) in rows.decode((Int, Int).self) { counts = (waiting, running) }
            return counts
        }
    }

    /// Jobs by state (those not yet expired), for `/metrics`.
    package func stateCounts() async throws(DatabaseError) -> [JobState: Int] {
        try await perform("counting jobs") { client in
            let rows = try await client.query("""
                SELECT state, count(*) FROM facerestore_jobs
                WHERE finished_at IS NULL OR finished_at + retention_seconds * interval '1 second' > now()
                GROUP BY state
                """)
            var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
            for try await (state, count) in rows.decode((String, Int).self) {
                if let state = JobState(rawValue: state) { counts[state] = count }
            }
            return counts
        }
    }

    /// The mean run time of the last 20 jobs that succeeded, for Retry-After; nil before any.
    package func recentRunSeconds() async throws(DatabaseError) -> Double? {
        try await perform("timing recent jobs") { client in
            let rows = try await client.query("""
                SELECT avg(extract(epoch FROM finished_at - started_at))::float8 FROM
                    (SELECT finished_at, started_at FROM facerestore_jobs WHERE state = 'succeeded' AND started_at IS NOT NULL
                     ORDER BY finished_at DESC LIMIT 20) recent
                """)
            return try await rows.single(Double?.self) ?? nil
        }
    }

    /// The upkeep any live process does now and then: jobs whose worker's lease ran out go back to
    /// the queue (or fail once their attempts are used up), queued jobs past their deadline fail,
    /// and jobs and results past their retention are deleted. Returns the jobs given back to the queue.
    @discardableResult
    package func maintain() async throws(DatabaseError) -> Int {
        let logger = self.logger
        return try await perform("the queue's upkeep", timeout: max(operationTimeout, .seconds(30))) { client in
            let requeued = try await client.query("""
                UPDATE facerestore_jobs
                SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                    finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                    error_status = NULL, error_message = NULL, progress = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    updated_at = now()
                WHERE state = 'running' AND lease_expires_at < now()
                RETURNING id, state, attempts
                """)
            var count = 0
            for try await (id, state, attempts) in requeued.decode((String, String, Int).self) {
                logger.warning("a worker lost its lease on a job", metadata: ["job": "\(id)", "attempts": "\(attempts)", "now": "\(state)"])
                if state == "queued" { count += 1 }
            }
            try await client.query("""
                UPDATE facerestore_jobs SET state = 'failed', error_status = timeout_status, error_message = timeout_message,
                    finished_at = now(), updated_at = now()
                WHERE state = 'queued' AND deadline_at <= now()
                """)
            try await client.query(
                "DELETE FROM facerestore_jobs WHERE finished_at + retention_seconds * interval '1 second' <= now()")
            try await client.query("DELETE FROM facerestore_results WHERE expires_at <= now()")
            try await client.query("DELETE FROM facerestore_workers WHERE seen_at < now() - interval '1 hour'")
            return count
        }
    }
}

extension JobFailure {
    /// The (error_status, error_message) columns; a lost-workers failure has neither.
    var columns: (Int?, String?) {
        switch self {
        case .reported(let status, let message): (status, message)
        case .workersLost: (nil, nil)
        }
    }

    init(status: Int?, message: String?, attempts: Int) {
        if let status, let message { self = .reported(status: status, message: message) } else { self = .workersLost(attempts: attempts) }
    }
}

/// A result file crossing into the database's tasks.
struct SendableFile: Sendable {
    let name: String
    let data: Data
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension PostgresRowSequence {
    /// The first column of the only row, or nil when there is no row.
    func single<T: PostgresDecodable>(_ type: T.Type) async throws -> T? {
        var value: T?
        for try await row in self { value = try row.decode(T.self) }
        return value
    }
}
