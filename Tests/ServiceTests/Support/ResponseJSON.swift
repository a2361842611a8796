import Foundation
import HummingbirdTesting
import NIOCore

/// Reads a response body as a JSON object.
extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    var results: [[String: Any]] { json["results"] as? [[String: Any]] ?? [] }

    var message: String { json["message"] as? String ?? "" }

    var text: String { String(buffer: body) }
}

extension Data {
    var buffer: ByteBuffer { ByteBuffer(bytes: self) }
}

/// A JSON request body from a dictionary.
func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}
