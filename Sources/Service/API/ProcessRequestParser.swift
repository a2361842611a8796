import Foundation
import NIOCore

/// Turns a `POST /api/process` body into images and parameters, by content type. The body has
/// already been read within the body limit; per-image limits are checked here, as soon as an
/// image's size is known.
struct ProcessRequestParser {
    var maxImageBytes: Int
    var maxBatch: Int

    /// The two content types the contract accepts.
    enum Kind {
        case multipart(boundary: String)
        case json
    }

    /// Which parser a Content-Type header selects; anything else is 415.
    static func kind(of contentType: String?) throws -> Kind {
        guard let contentType else { throw ServiceError.unsupportedContentType(nil) }
        let header = HeaderParameters(contentType)
        switch header.value {
        case "multipart/form-data":
            guard let boundary = header.parameters["boundary"], !boundary.isEmpty else {
                throw ServiceError.malformedMultipart("the Content-Type has no boundary parameter")
            }
            return .multipart(boundary: boundary)
        case "application/json":
            return .json
        default:
            throw ServiceError.unsupportedContentType(header.value.isEmpty ? contentType : header.value)
        }
    }

    func parse(_ body: ByteBuffer, as kind: Kind) throws -> ProcessRequest {
        let request = switch kind {
        case .multipart(let boundary): try parseMultipart(body, boundary: boundary)
        case .json: try parseJSON(body)
        }
        guard !request.images.isEmpty else { throw ServiceError.noImage }
        guard request.images.count <= maxBatch else {
            throw ServiceError.batchTooLarge(count: request.images.count, limit: maxBatch)
        }
        for (index, image) in request.images.enumerated() where image.data.count > maxImageBytes {
            throw ServiceError.imageTooLarge(label(index, of: request.images), bytes: image.data.count, limit: maxImageBytes)
        }
        return request
    }

    func label(_ index: Int, of images: [InputImage]) -> ImageLabel {
        ImageLabel(index: index + 1, count: images.count, name: images[index].name)
    }

    private func parseMultipart(_ body: ByteBuffer, boundary: String) throws -> ProcessRequest {
        let form = try MultipartForm(body: body, boundary: boundary)
        var images: [InputImage] = []
        for file in form.files where file.field == "image" {
            // A file input left empty still sends a part, with no file name and no bytes.
            if file.data.isEmpty && (file.fileName ?? "").isEmpty { continue }
            let name = file.fileName.flatMap { Self.cleanName($0) } ?? "image_\(images.count + 1).png"
            images.append(InputImage(name: name, data: file.data))
        }
        var parameters: [String: ParameterValue] = [:]
        for field in form.fields where parameters[field.name] == nil {
            parameters[field.name] = .text(field.value)
        }
        return ProcessRequest(images: images, parameters: parameters)
    }

    private func parseJSON(_ body: ByteBuffer) throws -> ProcessRequest {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            throw ServiceError.malformedJSON(body.readableBytes == 0 ? "the body is empty" : "the body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw ServiceError.malformedJSON("expected a JSON object, got \(value.typeName)")
        }
        var images: [InputImage] = []
        switch object["image_base64"] {
        case nil, .null?:
            break
        case .string(let text)?:
            images.append(InputImage(name: "image.png", data: try Base64Image.decode(text, field: "image_base64")))
        case let other?:
            throw ServiceError.invalidParameter(name: "image_base64", value: other.typeName, expected: "a base64 string or data URI")
        }
        switch object["images_base64"] {
        case nil, .null?:
            break
        case .array(let entries)?:
            guard entries.count <= maxBatch else { throw ServiceError.batchTooLarge(count: entries.count + images.count, limit: maxBatch) }
            for (index, entry) in entries.enumerated() {
                let field = "images_base64[\(index)]"
                guard case .string(let text) = entry else {
                    throw ServiceError.invalidParameter(name: field, value: entry.typeName, expected: "a base64 string or data URI")
                }
                images.append(InputImage(name: "image_\(index + 1).png", data: try Base64Image.decode(text, field: field)))
            }
        case let other?:
            throw ServiceError.invalidParameter(name: "images_base64", value: other.typeName, expected: "an array of base64 strings or data URIs")
        }
        var parameters: [String: ParameterValue] = [:]
        for (key, entry) in object where key != "image_base64" && key != "images_base64" {
            parameters[key] = entry.parameter
        }
        return ProcessRequest(images: images, parameters: parameters)
    }

    /// The client's file name without any directory part (some clients send full paths), or nil if
    /// nothing usable is left.
    static func cleanName(_ name: String) -> String? {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let printable = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        return printable.isEmpty ? nil : String(printable.prefix(255))
    }
}
