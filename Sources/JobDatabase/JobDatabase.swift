import Foundation
package import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// The PostgreSQL database a cluster of facerestore replicas and workers shares: the job queue
/// (`JobDatabase+Queue`), the results (`JobDatabase+Results`) and the workers' heartbeats. Every
/// operation is bounded in time (`operationTimeout`) and ends in `DatabaseError.unavailable` when the
/// database does not answer, so a request waits seconds, never indefinitely, while it is down; the
/// client reconnects by itself once it is back.
///
/// Run it as a service (`run`) for as long as it is used; `migrate` brings the schema up to date.
package final class JobDatabase: Service, Sendable {
    package let location: DatabaseLocation
    let client: PostgresClient
    let logger: Logger
    /// How long one operation may wait for a connection and an answer.
    package let operationTimeout: Duration
    let migrated = NIOLockedValueBox(false)

    package init(location: DatabaseLocation, maximumConnections: Int = 20, operationTimeout: Duration = .seconds(5),
                logger: Logger = Logger(label: "facerestore.database")) {
        self.location = location
        self.logger = logger
        self.operationTimeout = operationTimeout
        // The pool logs every failed connection attempt at info; while the database is down that is
        // one line per attempt, so only its warnings reach the log.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        client = PostgresClient(configuration: location.clientConfiguration(maximumConnections: maximumConnections),
                                backgroundLogger: background)
    }

    /// Keeps the connection pool; returns when cancelled (or on graceful shutdown of its group).
    package func run() async {
        await cancelWhenGracefulShutdown { await self.client.run() }
    }

    /// Runs `body` within `operationTimeout`; a database error or the timeout becomes a
    /// `DatabaseError` named after `operation`.
    func perform<T: Sendable>(_ operation: String, timeout: Duration? = nil,
                              _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws(DatabaseError) -> T {
        let limit = timeout ?? operationTimeout
        let client = self.client
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body(client) }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw DatabaseError.unavailable(operation: operation)
                }
                return value
            }
        } catch let error as DatabaseError {
            throw error
        } catch let error as PSQLError {
            if let message = error.serverInfo?[.message] {
                throw .failed(operation: operation, detail: message)
            }
            throw .unavailable(operation: operation)
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? DatabaseError { throw inner }
            if let inner = (error.closureError ?? error.commitError ?? error.beginError) as? PSQLError,
               let message = inner.serverInfo?[.message] {
                throw .failed(operation: operation, detail: message)
            }
            throw .unavailable(operation: operation)
        } catch {
            throw .unavailable(operation: operation)
        }
    }

    /// Whether the schema is up to date (`migrate` succeeded) and the database answers now.
    package func isReady() async -> Bool {
        migrated.withLockedValue { $0 } ? await ping() : false
    }

    /// Whether the database answers now.
    package func ping() async -> Bool {
        do {
            try await perform("a ping", timeout: .seconds(2)) { client in
                try await client.query("SELECT 1").collect()
            }
            return true
        } catch {
            return false
        }
    }
}
