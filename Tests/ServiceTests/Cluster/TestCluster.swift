import Foundation
import TestSupport

/// A whole cluster on loopback for one test: a private PostgreSQL, `replicas` × `facerestore serve
/// --store … --no-inference`, `workers` × `facerestore worker` (small fixture models, one thread
/// each) and nginx in front of the replicas. Short leases so a dead worker's job moves on in seconds.
final class TestCluster: @unchecked Sendable {
    static var available: Bool {
        SmallModels.available && Fixtures.available("images/04.jpg")
            && (Fixtures.isCI || (PostgresServer.isInstalled && NginxBalancer.isInstalled))
    }

    static let lease = "3s"
    /// Workers serve their metrics on a free loopback port.
    static let workerArguments = ["--lease", lease, "--metrics-port", "0", "--host", "127.0.0.1", "--queue-depth", "1000"]

    let postgres: PostgresServer
    let store: String
    let replicas: [ServeProcess]
    private(set) var workers: [ServeProcess]
    let balancer: NginxBalancer

    var baseURL: String { balancer.baseURL }
    var database: String { URLComponents(string: store)!.path.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }

    /// - Parameter inference: whether the replicas run restorations themselves (no `--no-inference`).
    init(replicas replicaCount: Int = 2, workers workerCount: Int = 2, inference: Bool = false, replicaArguments: [String] = []) throws {
        postgres = try PostgresServer()
        store = try postgres.createDatabase()
        var workers: [ServeProcess] = []
        var replicas: [ServeProcess] = []
        do {
            for _ in 0..<workerCount { workers.append(try ServeProcess.worker(store: store, arguments: Self.workerArguments)) }
            for _ in 0..<replicaCount {
                replicas.append(try ServeProcess(arguments: ["--store", store, "--lease", Self.lease, "--queue-depth", "1000"]
                                                             + (inference ? [] : ["--no-inference"]) + replicaArguments))
            }
            balancer = try NginxBalancer(upstreams: replicas.map(\.port))
            // As a load balancer would: wait until every replica says it is ready (schema migrated).
            for replica in replicas { try Self.waitUntilReady(replica) }
        } catch {
            for worker in workers { worker.stop() }
            for replica in replicas { replica.stop() }
            postgres.stop()
            throw error
        }
        self.workers = workers
        self.replicas = replicas
    }

    static func waitUntilReady(_ replica: ServeProcess, timeout: Duration = .seconds(60)) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let connection = try? RawConnection(port: replica.port) {
                _ = connection.send("GET /api/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if connection.response(within: .seconds(10))?.status == 200 { return }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ServeProcessError.didNotStart(output: "not ready within \(timeout):\n" + String(replica.output.suffix(3000)))
    }

    func addWorker() throws {
        workers.append(try ServeProcess.worker(store: store, arguments: Self.workerArguments))
    }

    /// Runs `sql` in the cluster's database; the output trimmed.
    func sql(_ text: String) throws -> String {
        try postgres.psql(database, text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything the processes logged, for failure messages.
    var logs: String {
        (replicas.enumerated().map { "--- replica \($0.offset)\n\($0.element.output.suffix(3000))" }
            + workers.enumerated().map { "--- worker \($0.offset)\n\($0.element.output.suffix(3000))" }).joined(separator: "\n")
    }

    func stop() {
        balancer.stop()
        for replica in replicas { replica.stop() }
        for worker in workers { worker.stop() }
        postgres.stop()
    }
}
