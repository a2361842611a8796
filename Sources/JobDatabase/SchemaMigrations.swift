import Logging
import PostgresNIO

/// The database schema as numbered steps, applied in order at start-up by whichever process gets
/// there first: each step runs in one transaction holding an advisory lock, so replicas and workers
/// starting together apply every step exactly once, and a step that fails leaves nothing behind.
/// Steps are never edited once released; changes are new steps.
enum SchemaMigrations {
    /// Any constant shared by every facerestore process: the key of the advisory lock.
    static let lockKey: Int64 = 0x6661_6365_7265_7374  // "facerest"

    /// Each step is its statements, run one by one in the step's transaction.
    static let steps: [[String]] = [
        // 1: jobs, their inputs, results, workers; a trigger that announces every job change.
        [
            """
            CREATE TABLE facerestore_jobs (
                id text PRIMARY KEY,
                seq bigint GENERATED ALWAYS AS IDENTITY,
                state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
                request text NOT NULL,
                images integer NOT NULL,
                client text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz,
                finished_at timestamptz,
                deadline_at timestamptz NOT NULL,
                timeout_status integer NOT NULL,
                timeout_message text NOT NULL,
                retention_seconds double precision NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                max_attempts integer NOT NULL,
                lease_owner text,
                lease_expires_at timestamptz,
                finished_by text,
                cancel_requested boolean NOT NULL DEFAULT false,
                progress text,
                results text,
                error_status integer,
                error_message text
            )
            """,
            "CREATE INDEX facerestore_jobs_queued ON facerestore_jobs (seq) WHERE state = 'queued'",
            "CREATE INDEX facerestore_jobs_running ON facerestore_jobs (lease_expires_at) WHERE state = 'running'",
            "CREATE INDEX facerestore_jobs_finished ON facerestore_jobs (finished_at) WHERE finished_at IS NOT NULL",
            """
            CREATE TABLE facerestore_job_inputs (
                job_id text NOT NULL REFERENCES facerestore_jobs (id) ON DELETE CASCADE,
                position integer NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (job_id, position)
            )
            """,
            """
            CREATE TABLE facerestore_results (
                name text PRIMARY KEY,
                job_id text NOT NULL,
                data bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX facerestore_results_expiry ON facerestore_results (expires_at)",
            """
            CREATE TABLE facerestore_workers (
                id text PRIMARY KEY,
                host text NOT NULL,
                models text NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                seen_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE FUNCTION facerestore_announce_job() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_notify('facerestore_jobs', NEW.id || ':' || NEW.state);
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """,
            """
            CREATE TRIGGER facerestore_jobs_added AFTER INSERT ON facerestore_jobs
                FOR EACH ROW EXECUTE FUNCTION facerestore_announce_job()
            """,
            // Lease renewals change nothing a watcher sees: they are not announced.
            """
            CREATE TRIGGER facerestore_jobs_changed AFTER UPDATE ON facerestore_jobs
                FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.progress IS DISTINCT FROM NEW.progress
                                   OR OLD.cancel_requested IS DISTINCT FROM NEW.cancel_requested)
                EXECUTE FUNCTION facerestore_announce_job()
            """,
        ],
    ]

    /// The newest version this program knows.
    static var latest: Int { steps.count }
}

extension JobDatabase {
    /// Brings the schema to `SchemaMigrations.latest`; returns the version found before. Safe when
    /// many processes start at once; refuses a schema newer than this program.
    @discardableResult
    package func migrate() async throws(DatabaseError) -> Int {
        let logger = self.logger
        let found = try await perform("the schema migration", timeout: .seconds(60)) { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(SchemaMigrations.lockKey))", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS facerestore_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                    logger: logger)
                var found = 0
                for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM facerestore_schema",
                                                                    logger: logger).decode(Int.self) {
                    found = version
                }
                guard found <= SchemaMigrations.latest else {
                    throw DatabaseError.schemaTooNew(found: found, known: SchemaMigrations.latest)
                }
                for version in (found + 1)..<(SchemaMigrations.latest + 1) {
                    for statement in SchemaMigrations.steps[version - 1] {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO facerestore_schema (version) VALUES (\(version))", logger: logger)
                    logger.notice("job database schema migrated to version \(version)")
                }
                return found
            }
        }
        migrated.withLockedValue { $0 = true }
        return found
    }

    /// `migrate`, tried again every two seconds until the database answers (a replica or worker
    /// started before its database waits for it); returns when migrated or cancelled.
    package func migrateWhenAvailable() async {
        var warned = false
        while !Task.isCancelled {
            do {
                try await migrate()
                if warned { logger.notice("the job database answers; schema up to date") }
                return
            } catch {
                if !warned { logger.warning("the job database at \(location) is not usable yet (\(error)); trying again every 2 s") }
                warned = true
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
