import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to a loopback server that sends exactly the bytes it is given: for requests no
/// HTTP client library would send (garbage, half a request line, a stalled body) and for seeing
/// when the server closes. Every wait is bounded.
final class RawConnection {
    private let descriptor: Int32
    private var received = Data()
    private(set) var closedByPeer = false

    init(port: Int, host: String = "127.0.0.1") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawConnectionError.system("socket", errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw RawConnectionError.system("connect", code)
        }
        // A send the server never reads fails after this long instead of blocking the test.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `bytes`; false when the peer closed or reset the connection meanwhile.
    @discardableResult
    func send(_ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Data(text.utf8)) }

    /// Reads what is there within `timeout`; returns all bytes received so far.
    @discardableResult
    func receive(for timeout: Duration) -> Data {
        let deadline = ContinuousClock.now + timeout
        while !closedByPeer {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { break }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno != EINTR {
                closedByPeer = true
            }
        }
        return received
    }

    /// Reads until the peer closes or `timeout` passes; true when it closed.
    func waitForClose(within timeout: Duration) -> Bool {
        receive(for: timeout)
        return closedByPeer
    }

    /// Reads until one whole response (head plus a Content-Length body) is there, or `timeout`.
    func response(within timeout: Duration) -> RawResponse? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let response = RawResponse(received), response.isComplete { return response }
            let left = deadline - ContinuousClock.now
            if left <= .zero || closedByPeer { return RawResponse(received) }
            receive(for: min(left, .milliseconds(100)))
        }
    }
}

/// An HTTP/1.1 response as bytes arrived: status, header fields (lower-cased names), body.
struct RawResponse {
    let status: Int
    let headers: [String: String]
    let body: Data
    let isComplete: Bool

    init?(_ data: Data) {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = data[end.upperBound...]
        let length = headers["content-length"].flatMap { Int($0) }
        self.status = status
        self.headers = headers
        self.body = Data(length.map { body.prefix($0) } ?? body)
        isComplete = length.map { body.count >= $0 } ?? false
    }

    /// The contract's error JSON, if the body is one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    var message: String? { json?["message"] as? String }
}

enum RawConnectionError: Error, CustomStringConvertible {
    case system(String, Int32)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}
