package import Foundation
import PostgresNIO

/// Result files kept in the database, so every replica serves every result.
extension JobDatabase {
    /// The bytes of result `name`, nil when there is none or it has expired.
    package func result(_ name: String) async throws(DatabaseError) -> Data? {
        try await perform("reading a result") { client in
            try await client.query("SELECT data FROM facerestore_results WHERE name = \(name) AND expires_at > now()").single(Data.self)
        }
    }

    /// How many results are kept and their bytes, for `/api/health` and `/metrics`.
    package func resultCounts() async throws(DatabaseError) -> (files: Int, bytes: Int) {
        try await perform("counting results") { client in
            let rows = try await client.query("""
                SELECT count(*), coalesce(sum(octet_length(data)), 0)::bigint FROM facerestore_results WHERE expires_at > now()
                """)
            var counts = (files: 0, bytes: 0)
            for try await (files, bytes) in rows.decode((Int, Int).self) { counts = (files, bytes) }
            return counts
        }
    }
}

/// Workers announce themselves and what they can run, so API replicas know the cluster's models.
extension JobDatabase {
    /// Records that worker `id` on `host` is alive and can run `models` (the service's JSON).
    package func heartbeat(worker id: String, host: String, models: String) async throws(DatabaseError) {
        try await perform("recording a worker's heartbeat") { client in
            try await client.query("""
                INSERT INTO facerestore_workers (id, host, models) VALUES (\(id), \(host), \(models))
                ON CONFLICT (id) DO UPDATE SET seen_at = now(), models = EXCLUDED.models
                """)
        }
    }

    /// Removes worker `id` (it is stopping).
    package func leave(worker id: String) async throws(DatabaseError) {
        try await perform("removing a worker") { client in
            try await client.query("DELETE FROM facerestore_workers WHERE id = \(id)")
        }
    }

    /// The models JSON of every worker seen within `window`.
    package func liveWorkers(within window: Duration) async throws(DatabaseError) -> [String] {
        try await perform("listing workers") { client in
            let rows = try await client.query(
                "SELECT models FROM facerestore_workers WHERE seen_at > now() - \(window.seconds) * interval '1 second' ORDER BY id")
            var models: [String] = []
            for try await text in rows.decode(String.self) { models.append(text) }
            return models
        }
    }
}
