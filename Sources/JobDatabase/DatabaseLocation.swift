import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL (`--store`, `FACERESTORE_STORE`),
/// checked and turned into the client's configuration. The password never appears in `description`.
package struct DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    package enum TLSMode: String, Sendable { case disable, prefer, require }

    package let host: String
    package let port: Int
    package let username: String
    let password: String?
    package let database: String
    package let tls: TLSMode

    /// Parses `text`; throws `DatabaseError.invalidLocation` naming what is wrong.
    package init(_ text: String) throws(DatabaseError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              ["postgres", "postgresql"].contains(scheme) else {
            throw .invalidLocation("expected a URL such as postgres://facerestore:secret@db.example.com:5432/facerestore")
        }
        guard let host = components.host, !host.isEmpty else { throw .invalidLocation("the URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw .invalidLocation("the URL names no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw .invalidLocation("the URL names no database (…/facerestore)") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { throw .invalidLocation("unknown URL parameter \(item.name); only sslmode is read") }
            switch item.value?.lowercased() {
            case "disable": tls = .disable
            case "prefer", "allow": tls = .prefer
            case "require", "verify-ca", "verify-full": tls = .require
            default: throw .invalidLocation("sslmode must be disable, prefer or require")
            }
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
    }

    /// For logs and the start-up summary: everything but the password.
    package var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
            + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)")
    }

    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        let mode: PostgresClient.Configuration.TLS = switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: mode)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }
}
