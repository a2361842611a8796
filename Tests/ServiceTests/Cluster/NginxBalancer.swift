import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Debian's nginx as the cluster's load balancer in tests: round robin over `upstreams` on a free
/// loopback port, with a configuration and folders of its own (no system service), buffering off so
/// event streams pass as they are written. `stop()` ends it and removes the folder.
final class NginxBalancer: @unchecked Sendable {
    static let binary = "/usr/sbin/nginx"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: Int
    let folder: URL
    private let process: Process

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(upstreams: [Int]) throws {
        port = PostgresServer.freePort()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-nginx-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("temp"), withIntermediateDirectories: true)
        let servers = upstreams.map { "        server 127.0.0.1:\($0);" }.joined(separator: "\n")
        let configuration = """
            \(getuid() == 0 ? "user root;" : "")
            worker_processes 1;
            pid \(folder.path)/nginx.pid;
            error_log \(folder.path)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(folder.path)/temp/body;
                proxy_temp_path \(folder.path)/temp/proxy;
                fastcgi_temp_path \(folder.path)/temp/fastcgi;
                uwsgi_temp_path \(folder.path)/temp/uwsgi;
                scgi_temp_path \(folder.path)/temp/scgi;
                client_max_body_size 64m;
                upstream facerestore {
            \(servers)
                }
                server {
                    listen 127.0.0.1:\(port);
                    location / {
                        proxy_pass http://facerestore;
                        proxy_http_version 1.1;
                        proxy_set_header Host $http_host;
                        proxy_set_header X-Forwarded-Proto $scheme;
                        proxy_buffering off;
                        proxy_request_buffering off;
                        proxy_read_timeout 600s;
                    }
                }
            }
            """
        let file = folder.appendingPathComponent("nginx.conf")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-p", folder.path, "-c", file.path, "-g", "daemon off;"]
        let log = folder.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Ready once the port takes connections.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if (try? RawConnection(port: port)) != nil { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw NginxError.didNotStart(output)
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGQUIT)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

enum NginxError: Error, CustomStringConvertible {
    case didNotStart(String)
    var description: String {
        switch self {
        case .didNotStart(let output): "nginx did not start: \(output)"
        }
    }
}
