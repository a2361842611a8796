package import Foundation

/// A job's state in the database. The order is the only way states move: queued, running (and back
/// to queued when its worker's lease runs out), then one final state.
package enum JobState: String, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    package var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A job to put in the queue. `request` and the result texts are the service's own JSON: the
/// database keeps them as they are.
package struct NewJob: Sendable {
    package var id: String
    package var request: String
    package var inputs: [Data]
    /// Who asked (for logs); nil when unknown.
    package var client: String?
    /// From submission; a job not finished by then fails with `timeoutFailure`.
    package var timeout: Duration
    package var timeoutFailure: JobFailure
    /// How long a finished job and its results stay.
    package var retention: Duration
    /// How many workers may start it before it fails for good (each one that dies costs one).
    package var maxAttempts: Int

    package init(id: String, request: String, inputs: [Data], client: String?, timeout: Duration, timeoutFailure: JobFailure,
                retention: Duration, maxAttempts: Int) {
        self.id = id
        self.request = request
        self.inputs = inputs
        self.client = client
        self.timeout = timeout
        self.timeoutFailure = timeoutFailure
        self.retention = retention
        self.maxAttempts = maxAttempts
    }
}

/// Why a job failed: what a worker (or the deadline) recorded, as the HTTP status and message the
/// client sees; or every worker that started it stopped before the end.
package enum JobFailure: Sendable, Equatable {
    case reported(status: Int, message: String)
    case workersLost(attempts: Int)
}

/// A job as the database has it now.
package struct JobRecord: Sendable, Equatable {
    package var id: String
    package var state: JobState
    package var request: String
    package var images: Int
    package var createdAt: Date
    package var updatedAt: Date
    package var finishedAt: Date?
    package var retention: Duration
    /// 1 runs next; only while queued.
    package var queuePosition: Int?
    package var attempts: Int
    package var cancelRequested: Bool
    /// The service's progress JSON; only while running.
    package var progress: String?
    /// The service's results JSON; only when succeeded.
    package var results: String?
    package var failure: JobFailure?

    package var expiresAt: Date? { finishedAt.map { $0.addingTimeInterval(Double(retention.components.seconds)) } }
}

/// A job a worker has claimed: what it needs to run it.
package struct ClaimedJob: Sendable {
    package var id: String
    package var request: String
    package var inputs: [Data]
    /// 1 the first time; more when earlier workers died.
    package var attempt: Int
    /// Until the job's deadline, by the database's clock.
    package var timeLeft: Duration
    package var timeoutFailure: JobFailure
    package var retention: Duration
}

/// Whether a worker still holds a job, and whether a client asked to cancel it.
package enum LeaseState: Sendable, Equatable {
    case held(cancelRequested: Bool)
    /// Another worker may have it now: stop and write nothing.
    case lost
}

/// A submission's answer: queued, or refused because the cluster's queue is full.
package enum Admission: Sendable, Equatable {
    case queued
    case full(waiting: Int)
}
