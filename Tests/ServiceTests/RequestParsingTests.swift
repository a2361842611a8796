import Foundation
import NIOCore
import Testing
@testable import Service

@Suite("Request parsing: content types, multipart, JSON, base64")
struct RequestParsingTests {
    let parser = ProcessRequestParser(maxImageBytes: 1 << 20, maxBatch: 4)

    @Test("only multipart/form-data (with a boundary) and application/json are accepted")
    func contentTypes() throws {
        #expect(throws: Never.self) { try ProcessRequestParser.kind(of: "application/json") }
        #expect(throws: Never.self) { try ProcessRequestParser.kind(of: "Application/JSON; charset=utf-8") }
        guard case .multipart(let boundary) = try ProcessRequestParser.kind(of: "multipart/form-data; boundary=\"abc def\"") else {
            Issue.record("not multipart")
            return
        }
        #expect(boundary == "abc def")
        #expect(throws: ServiceError.unsupportedContentType("text/plain")) { try ProcessRequestParser.kind(of: "text/plain") }
        #expect(throws: ServiceError.unsupportedContentType("application/x-www-form-urlencoded")) {
            try ProcessRequestParser.kind(of: "application/x-www-form-urlencoded")
        }
        #expect(throws: ServiceError.unsupportedContentType(nil)) { try ProcessRequestParser.kind(of: nil) }
        #expect(throws: ServiceError.self) { try ProcessRequestParser.kind(of: "multipart/form-data") }
    }

    @Test("base64: plain, data URI, wrapped lines, URL-safe alphabet, missing padding")
    func base64() throws {
        let bytes = Data((0..<200).map { UInt8($0) })
        let plain = bytes.base64EncodedString()
        #expect(try Base64Image.decode(plain, field: "f") == bytes)
        #expect(try Base64Image.decode("data:image/png;base64," + plain, field: "f") == bytes)
        #expect(try Base64Image.decode("DATA:image/jpeg;name=a.jpg;base64," + plain, field: "f") == bytes)
        #expect(try Base64Image.decode(bytes.base64EncodedString(options: .lineLength76Characters), field: "f") == bytes)
        let urlSafe = plain.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(try Base64Image.decode(urlSafe, field: "f") == bytes)
        let unpadded = Data([1, 2, 3, 4]).base64EncodedString().trimmingCharacters(in: CharacterSet(charactersIn: "="))
        #expect(try Base64Image.decode(unpadded, field: "f") == Data([1, 2, 3, 4]))

        for bad in ["", "data:image/png;base64,", "not*base64!", "data:image/png,abcd", "data:image/png;base64"] {
            #expect(throws: ServiceError.self) { try Base64Image.decode(bad, field: "image_base64") }
        }
    }

    @Test("header parameters: quoted values, escapes, RFC 5987 file names")
    func headerParameters() {
        let header = HeaderParameters(#"form-data; name="image"; filename="my \"best\"; photo.jpg""#)
        #expect(header.value == "form-data")
        #expect(header.parameters["name"] == "image")
        #expect(header.fileName == #"my "best"; photo.jpg"#)
        #expect(HeaderParameters("form-data; name=image; filename*=UTF-8''na%C3%AFve.png").fileName == "naïve.png")
    }

    @Test("multipart: repeated image parts in order, text fields, names without directories, empty file input skipped")
    func multipart() throws {
        var body = MultipartBody()
        body.addFile(fileName: "/home/me/first.jpg", data: Data([1, 2, 3]))
        body.addField("fidelity", "0.7")
        body.addFile(fileName: "second.png", data: Data([4, 5]))
        body.addFile(fileName: "", data: Data())
        body.addField("fidelity", "0.9")
        body.addFile("other", fileName: "ignored.png", data: Data([9]))
        let request = try parser.parse(body.buffer, as: .multipart(boundary: body.boundary))
        #expect(request.images.map(\.name) == ["first.jpg", "second.png"])
        #expect(request.images.map(\.data) == [Data([1, 2, 3]), Data([4, 5])])
        #expect(request.parameters["fidelity"] == .text("0.7"))
    }

    @Test("multipart: a body cut short, or one without the boundary, is malformed")
    func truncatedMultipart() throws {
        var body = MultipartBody()
        body.addFile(fileName: "a.png", data: Data(repeating: 7, count: 100))
        let cut = ByteBuffer(bytes: body.body.prefix(body.body.count - 30))
        #expect { try parser.parse(cut, as: .multipart(boundary: body.boundary)) } throws: { error in
            if case ServiceError.malformedMultipart = error { true } else { false }
        }
        #expect { try parser.parse(ByteBuffer(string: "garbage without parts"), as: .multipart(boundary: "xyz")) } throws: { error in
            if case ServiceError.malformedMultipart = error { true } else { false }
        }
    }

    @Test("JSON: image_base64 first, then images_base64 entries named image_<k>.png; other keys are parameters")
    func json() throws {
        let body = ByteBuffer(string: """
            {"images_base64": ["\(Data([2]).base64EncodedString())", "data:image/png;base64,\(Data([3]).base64EncodedString())"],
             "image_base64": "\(Data([1]).base64EncodedString())", "fidelity": 0.7, "return_base64": "true", "upscale": null}
            """)
        let request = try parser.parse(body, as: .json)
        #expect(request.images.map(\.name) == ["image.png", "image_1.png", "image_2.png"])
        #expect(request.images.map(\.data) == [Data([1]), Data([2]), Data([3])])
        #expect(request.parameters["fidelity"] == .number(0.7))
        #expect(request.parameters["return_base64"] == .text("true"))
        #expect(request.parameters["upscale"] == .null)
    }

    @Test("JSON errors name the field: not JSON, not an object, wrong types, bad base64 entry")
    func jsonErrors() {
        func error(_ text: String) -> ServiceError? {
            do {
                _ = try parser.parse(ByteBuffer(string: text), as: .json)
                return nil
            } catch {
                return error as? ServiceError
            }
        }
        #expect(error("{\"image_base64\": ") == .malformedJSON("the body is not valid JSON"))
        #expect(error("") == .malformedJSON("the body is empty"))
        #expect(error("[1, 2]") == .malformedJSON("expected a JSON object, got an array"))
        #expect(error("{}") == .noImage)
        #expect(error("{\"image_base64\": 5}")?.message.contains("'image_base64'") == true)
        #expect(error("{\"images_base64\": \"abc\"}")?.message.contains("'images_base64'") == true)
        #expect(error("{\"images_base64\": [\"QUJD\", 7]}")?.message.contains("images_base64[1]") == true)
        #expect(error("{\"images_base64\": [\"QUJD\", \"!!\"]}")?.message.contains("images_base64[1]") == true)
    }

    @Test("batch length and per-image size limits are 413s naming the limit and the image")
    func limits() {
        let five = "[" + Array(repeating: "\"QUJD\"", count: 5).joined(separator: ",") + "]"
        #expect(throws: ServiceError.batchTooLarge(count: 5, limit: 4)) {
            try parser.parse(ByteBuffer(string: "{\"images_base64\": \(five)}"), as: .json)
        }
        let small = ProcessRequestParser(maxImageBytes: 2, maxBatch: 4)
        #expect(throws: ServiceError.imageTooLarge(ImageLabel(index: 2, count: 2, name: "image_2.png"), bytes: 3, limit: 2)) {
            try small.parse(ByteBuffer(string: "{\"images_base64\": [\"QUI=\", \"QUJD\"]}"), as: .json)
        }
    }
}
