import Foundation

/// A job's state in the database. The order is the only way states move: queued, running (and back
/// to queued when its worker's lease runs out), then one final state.
public enum JobState: String, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A job to put in the queue. `request` and the result texts are the service's own JSON: the
/// database keeps them as they are.
public struct NewJob: Sendable {
    public var id: String
    public var request: String
    public var inputs: [Data]
    /// Who asked (for logs); nil when unknown.
    public var client: String?
    /// From submission; a job not finished by then fails with `timeoutFailure`.
    public var timeout: Duration
    public var timeoutFailure: JobFailure
    /// How long a finished job and its results stay.
    public var retention: Duration
    /// How many workers may start it before it fails for good (each one that dies costs one).
    public var maxAttempts: Int

    public init(id: String, request: String, inputs: [Data], client: String?, timeout: Duration, timeoutFailure: JobFailure,
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
public enum JobFailure: Sendable, Equatable {
    case reported(status: Int, message: String)
    case workersLost(attempts: Int)
}

/// A job as the database has it now.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    public var state: JobState
    public var request: String
    public var images: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    public var retention: Duration
    /// 1 runs next; only while queued.
    public var queuePosition: Int?
    public var attempts: Int
    public var cancelRequested: Bool
    /// The service's progress JSON; only while running.
    public var progress: String?
    /// The service's results JSON; only when succeeded.
    public var results: String?
    public var failure: JobFailure?

    public var expiresAt: Date? { finishedAt.map { $0.addingTimeInterval(Double(retention.components.seconds)) } }
}

/// A job a worker has claimed: what it needs to run it.
public struct ClaimedJob: Sendable {
    public var id: String
    public var request: String
    public var inputs: [Data]
    /// 1 the first time; more when earlier workers died.
    public var attempt: Int
    /// Until the job's deadline, by the database's clock.
    public var timeLeft: Duration
    public var timeoutFailure: JobFailure
    public var retention: Duration
}

/// Whether a worker still holds a job, and whether a client asked to cancel it.
public enum LeaseState: Sendable, Equatable {
    case held(cancelRequested: Bool)
    /// Another worker may have it now: stop and write nothing.
    case lost
}

/// A submission's answer: queued, or refused because the cluster's queue is full.
public enum Admission: Sendable, Equatable {
    case queued
    case full(waiting: Int)
}
