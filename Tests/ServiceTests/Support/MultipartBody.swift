import Foundation
import NIOCore

/// Builds `multipart/form-data` bodies the way browsers and curl send them.
struct MultipartBody {
    let boundary = "----facerestoreTestBoundary\(UInt32.random(in: 0...UInt32.max))"
    private var data = Data()

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func addField(_ name: String, _ value: String) {
        data += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func addFile(_ name: String = "image", fileName: String, data file: Data, type: String = "application/octet-stream") {
        data += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(fileName)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
        data += file
        data += Data("\r\n".utf8)
    }

    /// The finished body (closing boundary appended).
    var body: Data { data + Data("--\(boundary)--\r\n".utf8) }

    var buffer: ByteBuffer { ByteBuffer(bytes: body) }
}
