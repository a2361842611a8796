import Foundation
import JobDatabase
import Logging
import TestSupport

/// One private PostgreSQL server for this test target (started on first use, on loopback), and a
/// fresh database for each test.
enum DatabaseHarness {
    static let server: Result<PostgresServer, any Error> = Result { try PostgresServer() }

    /// Whether the tests run: PostgreSQL installed, or CI (where its absence is a failure).
    static var enabled: Bool { Fixtures.isCI || PostgresServer.isInstalled }

    /// Runs `body` with a migrated database of its own, its client running meanwhile.
    static func withDatabase<T: Sendable>(operationTimeout: Duration = .seconds(5),
                                          _ body: @Sendable (JobDatabase, PostgresServer) async throws -> T) async throws -> T {
        let server = try server.get()
        let location = try DatabaseLocation(server.createDatabase())
        var logger = Logger(label: "test.database")
        logger.logLevel = .warning
        let database = JobDatabase(location: location, operationTimeout: operationTimeout, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await database.run()
                return nil
            }
            defer { group.cancelAll() }
            try await database.migrate()
            return try await body(database, server)
        }
    }

    static func newJob(_ id: String = UUID().uuidString, inputs: [Data] = [Data([1, 2, 3])], timeout: Duration = .seconds(60),
                       retention: Duration = .seconds(3600), maxAttempts: Int = 3) -> NewJob {
        NewJob(id: id, request: #"{"test":true}"#, inputs: inputs, client: "127.0.0.1", timeout: timeout,
               timeoutFailure: .reported(status: 504, message: "took too long"), retention: retention, maxAttempts: maxAttempts)
    }
}
