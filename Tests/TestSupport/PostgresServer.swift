package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for one test: Debian's binaries (`scripts/setup.sh --test-tools`
/// installs the `postgresql` package), its own data folder under the temporary folder, a free
/// loopback port, no fsync; stopped and removed by `stop()`. Run as root (as CI does), the server
/// runs as the `postgres` user, since PostgreSQL refuses to run as root.
package final class PostgresServer: @unchecked Sendable {
    package enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case command(String, output: String)
        case notStarted(String)

        package var description: String {
            switch self {
            case .notInstalled: "PostgreSQL is not installed (/usr/lib/postgresql/*/bin); run scripts/setup.sh --packages-only --test-tools"
            case .command(let command, let output): "\(command) failed: \(output)"
            case .notStarted(let log): "PostgreSQL did not start: \(log)"
            }
        }
    }

    package let port: Int
    package let folder: URL
    private let binaries: URL
    private var server: Process?
    private let lock = NSLock()

    /// Whether the binaries are there (tests skip outside CI without them, and fail in CI).
    package static var isInstalled: Bool { binariesFolder() != nil }

    /// Creates the data folder and starts the server.
    package init() throws {
        guard let binaries = Self.binariesFolder() else { throw Failure.notInstalled }
        self.binaries = binaries
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-pg-\(UUID().uuidString.prefix(8))")
        port = Self.freePort()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if getuid() == 0 { try Self.run("/bin/chown", ["-R", "postgres:postgres", folder.path]) }
        let initdb = asServerUser(binaries.appendingPathComponent("initdb").path,
                                  ["-D", data.path, "-U", "facerestore", "--auth=trust", "-E", "UTF8", "--no-sync"])
        try Self.run(initdb.program, initdb.arguments)
        try start()
    }

    deinit { stop() }

    private var data: URL { folder.appendingPathComponent("data") }

    /// `postgres://facerestore@127.0.0.1:<port>/<database>?sslmode=disable`, created first.
    package func createDatabase(_ name: String = "t\(UUID().uuidString.prefix(8).lowercased())") throws -> String {
        try Self.run(binaries.appendingPathComponent("psql").path,
                     ["-h", "127.0.0.1", "-p", String(port), "-U", "facerestore", "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"])
        return "postgres://facerestore@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    /// Runs `sql` in `database` through psql and returns its unaligned output.
    package func psql(_ database: String, _ sql: String) throws -> String {
        try Self.run(binaries.appendingPathComponent("psql").path,
                     ["-h", "127.0.0.1", "-p", String(port), "-U", "facerestore", "-d", database, "-At", "-c", sql])
    }

    /// Starts the server (again, after `kill`); returns once it takes connections.
    package func start() throws {
        let command = asServerUser(binaries.appendingPathComponent("postgres").path, [
            "-D", data.path, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(folder.path)",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.program)
        process.arguments = command.arguments
        let log = folder.appendingPathComponent("server.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        if getuid() == 0 { try? Self.run("/bin/chown", ["postgres:postgres", log.path]) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        lock.withLock { server = process }
        Self.watch(server: process.processIdentifier, folder: folder)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? Self.run(binaries.appendingPathComponent("pg_isready").path, ["-h", "127.0.0.1", "-p", String(port), "-q"])) != nil {
                return
            }
            if !process.isRunning { break }
            usleep(100_000)
        }
        throw Failure.notStarted((try? String(contentsOf: log, encoding: .utf8)) ?? "no log")
    }

    /// Stops the server at once (fast shutdown: clients are disconnected), keeping its data.
    package func kill() {
        guard let process = lock.withLock({ server }) else { return }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        lock.withLock { server = nil }
    }

    /// Stops the server and removes its data folder.
    package func stop() {
        kill()
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: running as the server's user

    /// As root, `setpriv` becomes the `postgres` user and then executes the program itself, so the
    /// process started is the server (signals reach it directly).
    private func asServerUser(_ program: String, _ arguments: [String]) -> (program: String, arguments: [String]) {
        guard getuid() == 0 else { return (program, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program] + arguments)
    }

    /// A server outlives the test process unless stopped (one shared by a whole test target never
    /// is): a watchdog stops it, fast, and removes its folder once the test process is gone.
    private static func watch(server: Int32, folder: URL) {
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; kill -INT \(server) 2>/dev/null; sleep 3; rm -rf '\(folder.path)'"
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", script]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try? watchdog.run()
    }

    private static func binariesFolder() -> URL? {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return versions.compactMap(Int.init).sorted().reversed().lazy
            .map { root.appendingPathComponent("\($0)/bin") }
            .first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("postgres").path) }
    }

    @discardableResult
    private static func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure.command(([program] + arguments).joined(separator: " "), output: text) }
        return text
    }

    /// A port nothing listens on now (the kernel's pick for port 0).
    package static func freePort() -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
