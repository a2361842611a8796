/// What can go wrong between this process and the job database, in words an operator can act on.
package enum DatabaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--store` is not a usable PostgreSQL URL.
    case invalidLocation(String)
    /// The database did not answer within the time an operation may take (down, unreachable,
    /// refusing connections, or overloaded).
    case unavailable(operation: String)
    /// The database answered with an error; `detail` is the server's message.
    case failed(operation: String, detail: String)
    /// The schema is newer than this program knows (a newer facerestore migrated it).
    case schemaTooNew(found: Int, known: Int)

    package var description: String {
        switch self {
        case .invalidLocation(let detail): "--store: \(detail)"
        case .unavailable(let operation): "the job database did not answer (\(operation))"
        case .failed(let operation, let detail): "the job database refused \(operation): \(detail)"
        case .schemaTooNew(let found, let known):
            "the job database has schema version \(found), newer than this facerestore knows (\(known)); upgrade facerestore"
        }
    }
}
