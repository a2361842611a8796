import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

/// One HTTP/1.1 exchange with a server on this machine (chromedriver, `facerestore serve`), on a
/// connection of its own, through HummingbirdTesting's NIO client. Not URLSession: Foundation on
/// Linux fails with "Failed writing header" on chromedriver's header lines (`Content-Length:252`,
/// no space after the colon, which HTTP allows).
enum LoopbackHTTP {
    static func send(_ method: HTTPRequest.Method, _ url: String, headers: HTTPFields = [:], body: Data? = nil,
                     timeout: Duration = .seconds(90)) async throws -> (status: Int, body: Data) {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            throw LoopbackHTTPError.notALoopbackURL(url)
        }
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        let request = TestClient.Request(path, method: method, authority: "\(host):\(port)", headers: headers,
                                         body: body.map { ByteBuffer(bytes: $0) })
        let response = try await TestClient.withClient(host: host, port: port, configuration: .init(timeout: timeout)) { client in
            try await client.execute(request)
        }
        return (response.status.code, response.body.map { Data($0.readableBytesView) } ?? Data())
    }

    static func get(_ url: String, timeout: Duration = .seconds(90)) async throws -> (status: Int, body: Data) {
        try await send(.get, url, timeout: timeout)
    }
}

enum LoopbackHTTPError: Error {
    case notALoopbackURL(String)
}
