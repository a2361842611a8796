import Foundation
import MultipartKit
import NIOCore

/// A `multipart/form-data` body split into file parts and text fields, using MultipartKit's
/// streaming parser. A part is a file when its Content-Disposition has a `filename` (browsers send
/// one for every `<input type=file>` and `FormData.append(name, blob)`).
struct MultipartForm {
    struct File {
        var field: String
        var fileName: String?
        var data: Data
    }

    var files: [File] = []
    /// Text fields in order; a repeated name keeps every value.
    var fields: [(name: String, value: String)] = []

    /// Parses `body` with the `boundary` from the request's Content-Type.
    init(body: ByteBuffer, boundary: String) throws {
        guard !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw ServiceError.malformedMultipart("the Content-Type boundary parameter is missing or invalid")
        }
        let parser = MultipartParser(boundary: boundary)
        var parts: [(headers: [(String, String)], body: ByteBuffer)] = []
        var headers: [(String, String)] = []
        var partBody = ByteBuffer()
        var inPart = false
        parser.onHeader = { name, value in
            inPart = true
            headers.append((name, value))
        }
        parser.onBody = { chunk in
            inPart = true
            partBody.writeBuffer(&chunk)
        }
        parser.onPartComplete = {
            parts.append((headers, partBody))
            headers = []
            partBody = ByteBuffer()
            inPart = false
        }
        do {
            try parser.execute(body)
        } catch {
            throw ServiceError.malformedMultipart("a part's headers are not well-formed")
        }
        // The parser stops quietly at the end of the input; a part it started but did not finish
        // means the body was cut short or the closing boundary is missing.
        if inPart || (parts.isEmpty && body.readableBytes > 0) {
            throw ServiceError.malformedMultipart("the body ends before the closing boundary '--\(boundary)--'")
        }
        for part in parts {
            let disposition = part.headers.first { $0.0.lowercased() == "content-disposition" }.map { HeaderParameters($0.1) }
            guard let disposition, let name = disposition.parameters["name"] else {
                throw ServiceError.malformedMultipart("a part has no Content-Disposition name")
            }
            let data = Data(part.body.readableBytesView)
            if let fileName = disposition.fileName {
                files.append(File(field: name, fileName: fileName, data: data))
            } else {
                fields.append((name, String(decoding: data, as: UTF8.self)))
            }
        }
    }
}
