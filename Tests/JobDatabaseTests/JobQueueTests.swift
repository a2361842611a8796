import Foundation
import JobDatabase
import Testing
import TestSupport

/// The queue against a real PostgreSQL: order, bound, leases, retries, cancellation, deadlines,
/// retention, and many workers claiming at once.
@Suite(.enabled(if: DatabaseHarness.enabled))
struct JobQueueTests {
    @Test func claimsOldestFirstAndHoldsTheBound() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            for index in 0..<3 {
                #expect(try await database.submit(DatabaseHarness.newJob("job-\(index)"), capacity: 3) == .queued)
            }
            #expect(try await database.submit(DatabaseHarness.newJob("job-3"), capacity: 3) == .full(waiting: 3))
            #expect(try await database.job("job-2")?.queuePosition == 3)
            let first = try #require(try await database.claim(worker: "w1", lease: .seconds(30)))
            #expect(first.id == "job-0")
            #expect(first.inputs == [Data([1, 2, 3])])
            #expect(first.attempt == 1)
            #expect(try await database.job("job-2")?.queuePosition == 2)
            #expect(try await database.queueCounts() == (waiting: 2, running: 1))
            // One place freed: the fourth fits now.
            #expect(try await database.submit(DatabaseHarness.newJob("job-3"), capacity: 3) == .queued)
        }
    }

    @Test func manyWorkersNeverClaimTheSameJob() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            let total = 120
            for index in 0..<total { _ = try await database.submit(DatabaseHarness.newJob("job-\(index)"), capacity: 1000) }
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<12 {
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await database.claim(worker: "w\(worker)", lease: .seconds(30)) {
                            mine.append(job.id)
                            #expect(try await database.succeed(job.id, worker: "w\(worker)", results: "[]", files: []))
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == total)
            #expect(Set(claims).count == total)
            #expect(try await database.stateCounts()[.succeeded] == total)
        }
    }

    @Test func anExpiredLeaseSendsTheJobToAnotherWorkerAndTheFirstWritesNothing() async throws {
        try await DatabaseHarness.withDatabase { database, server in
            _ = try await database.submit(DatabaseHarness.newJob("job"), capacity: 10)
            let first = try #require(try await database.claim(worker: "dead", lease: .milliseconds(300)))
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await database.maintain() == 1)
            let record = try #require(try await database.job("job"))
            #expect(record.state == .queued)
            #expect(record.attempts == 1)
            let second = try #require(try await database.claim(worker: "alive", lease: .seconds(30)))
            #expect(second.id == first.id)
            #expect(second.attempt == 2)
            #expect(second.inputs == first.inputs)
            // The worker that lost its lease comes back: nothing it sends is kept.
            #expect(try await database.renew("job", worker: "dead", lease: .seconds(30)) == .lost)
            #expect(!(try await database.succeed("job", worker: "dead", results: #"["dead"]"#,
                                                  files: [("a.png", Data([9]))])))
            #expect(try await database.result("a.png") == nil)
            #expect(try await database.succeed("job", worker: "alive", results: #"["alive"]"#, files: [("a.png", Data([7]))]))
            #expect(try await database.result("a.png") == Data([7]))
            let done = try #require(try await database.job("job"))
            #expect(done.state == .succeeded)
            #expect(done.results == #"["alive"]"#)
            #expect(try server.psql(database.location.database, "SELECT finished_by FROM facerestore_jobs")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "alive")
        }
    }

    @Test func aJobWhoseWorkersKeepDyingFailsAfterItsAttempts() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            _ = try await database.submit(DatabaseHarness.newJob("job", maxAttempts: 2), capacity: 10)
            for attempt in 1...2 {
                let claimed = try #require(try await database.claim(worker: "w\(attempt)", lease: .milliseconds(200)))
                #expect(claimed.attempt == attempt)
                try await Task.sleep(for: .milliseconds(400))
                try await database.maintain()
            }
            let record = try #require(try await database.job("job"))
            #expect(record.state == .failed)
            #expect(record.failure == .workersLost(attempts: 2))
            #expect(try await database.claim(worker: "w3", lease: .seconds(1)) == nil)
        }
    }

    @Test func cancellingAQueuedJobEndsItAndARunningOneAsksItsWorker() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            _ = try await database.submit(DatabaseHarness.newJob("running"), capacity: 10)
            _ = try await database.submit(DatabaseHarness.newJob("queued"), capacity: 10)
            _ = try #require(try await database.claim(worker: "w", lease: .seconds(30)))
            #expect(try await database.cancel("queued")?.state == .cancelled)
            #expect(try await database.claim(worker: "w2", lease: .seconds(30)) == nil)
            let running = try #require(try await database.cancel("running"))
            #expect(running.state == .running)
            #expect(running.cancelRequested)
            #expect(try await database.renew("running", worker: "w", lease: .seconds(30)) == .held(cancelRequested: true))
            #expect(try await database.finish("running", worker: "w", failure: nil))
            #expect(try await database.job("running")?.state == .cancelled)
            // A finished job stays as it is.
            #expect(try await database.cancel("running")?.state == .cancelled)
            #expect(try await database.cancel("no-such-job") == nil)
        }
    }

    @Test func queuedJobsPastTheirDeadlineAreNotStartedAndFail() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            _ = try await database.submit(DatabaseHarness.newJob("late", timeout: .milliseconds(200)), capacity: 10)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await database.claim(worker: "w", lease: .seconds(30)) == nil)
            try await database.maintain()
            let record = try #require(try await database.job("late"))
            #expect(record.state == .failed)
            #expect(record.failure == .reported(status: 504, message: "took too long"))
        }
    }

    @Test func finishedJobsAndTheirResultsExpireWithTheirRetention() async throws {
        try await DatabaseHarness.withDatabase { database, server in
            _ = try await database.submit(DatabaseHarness.newJob("short", retention: .milliseconds(500)), capacity: 10)
            _ = try await database.claim(worker: "w", lease: .seconds(30))
            #expect(try await database.succeed("short", worker: "w", results: "[]", files: [("short.png", Data([1]))]))
            #expect(try await database.result("short.png") == Data([1]))
            #expect(try await database.resultCounts() == (files: 1, bytes: 1))
            try await Task.sleep(for: .milliseconds(800))
            #expect(try await database.job("short") == nil)
            #expect(try await database.result("short.png") == nil)
            try await database.maintain()
            let name = database.location.database
            #expect(try server.psql(name, "SELECT count(*) FROM facerestore_jobs").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            #expect(try server.psql(name, "SELECT count(*) FROM facerestore_results").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
    }

    @Test func announcementsWakeTheWaitersOfThatJob() async throws {
        try await DatabaseHarness.withDatabase { database, _ in
            let notifications = JobNotifications(database: database)
            let listener = Task { try await notifications.run() }
            defer { listener.cancel() }
            while !notifications.isListening { try await Task.sleep(for: .milliseconds(20)) }
            var mine = notifications.changes(of: "watched").makeAsyncIterator()
            var other = notifications.changes(of: "other", to: .succeeded).makeAsyncIterator()
            _ = try await database.submit(DatabaseHarness.newJob("watched"), capacity: 10)
            #expect(await mine.next() != nil)
            _ = try await database.submit(DatabaseHarness.newJob("other"), capacity: 10)
            _ = try await database.claim(worker: "w", lease: .seconds(30))  // "watched" starts
            #expect(await mine.next() != nil)
            _ = try await database.claim(worker: "w", lease: .seconds(30))  // "other" starts: not what `other` waits for
            #expect(try await database.succeed("other", worker: "w", results: "[]", files: []))
            #expect(await other.next() != nil)
        }
    }

    @Test func replicasStartingTogetherMigrateOnce() async throws {
        try await DatabaseHarness.withDatabase { database, server in
            // The harness migrated once; four more at the same moment find it done.
            let found = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await database.migrate() } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(found == [1, 1, 1, 1])
            #expect(try server.psql(database.location.database, "SELECT count(*) FROM facerestore_schema")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
    }

    @Test func aDatabaseThatIsDownGivesAClearErrorWithinTheTimeout() async throws {
        let location = try DatabaseLocation("postgres://nobody@127.0.0.1:\(PostgresServer.freePort())/none?sslmode=disable")
        let database = JobDatabase(location: location, operationTimeout: .seconds(1))
        let client = Task { await database.run() }
        defer { client.cancel() }
        let start = ContinuousClock.now
        await #expect(throws: DatabaseError.unavailable(operation: "counting the queue")) {
            _ = try await database.queueCounts()
        }
        // The operation timeout is 1 s; the rest is room for a busy machine.
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(!(await database.ping()))
    }

    @Test func locationsAreCheckedAndNeverShowThePassword() throws {
        let location = try DatabaseLocation("postgres://fr:s3cret@db.example.com:6543/faces?sslmode=require")
        #expect(location.host == "db.example.com")
        #expect(location.port == 6543)
        #expect(location.database == "faces")
        #expect(location.tls == .require)
        #expect(!location.description.contains("s3cret"))
        for bad in ["mysql://a@b/c", "postgres://b/c", "postgres://a@/c", "postgres://a@b", "postgres://a@b/c?sslmode=maybe"] {
            #expect(throws: DatabaseError.self) { try DatabaseLocation(bad) }
        }
    }
}
