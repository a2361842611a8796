import Foundation
import HTTPTypes
import Hummingbird

/// JSON responses, UTF-8, keys in the order the response type writes them.
enum JSONResponse {
    static func make(_ body: some JSONRepresentable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body.json.serialized)))
    }
}
