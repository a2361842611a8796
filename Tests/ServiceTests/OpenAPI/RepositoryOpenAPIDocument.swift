import Foundation

/// The OpenAPI document as the repository keeps it (`Sources/Service/OpenAPI/openapi.json`), read
/// as JSON, and the operations it lists. Immutable once read, so it may be shared across tasks.
struct RepositoryOpenAPIDocument: @unchecked Sendable {
    static let file = TestTools.packageRoot.appendingPathComponent("Sources/Service/OpenAPI/openapi.json")

    /// A method on a path template, as the document and Hummingbird's router both spell it
    /// (`GET /static/results/{filename}`).
    struct Operation: Hashable, Comparable, CustomStringConvertible {
        let method: String
        let path: String

        var description: String { "\(method) \(path)" }

        static func < (lhs: Operation, rhs: Operation) -> Bool {
            (lhs.path, lhs.method) < (rhs.path, rhs.method)
        }
    }

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace", "query"]

    let bytes: Data
    let json: [String: Any]

    init() throws {
        bytes = try Data(contentsOf: Self.file)
        json = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] ?? [:]
    }

    var paths: [String: [String: Any]] {
        (json["paths"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
    }

    /// Every operation, `OPTIONS` included.
    var operations: Set<Operation> {
        Set(paths.flatMap { path, item in
            item.keys.filter(Self.httpMethods.contains).map { Operation(method: $0.uppercased(), path: path) }
        })
    }

    /// The methods the document lists on `path`, upper-case.
    func methods(on path: String) -> Set<String> {
        Set(operations.filter { $0.path == path }.map(\.method))
    }

    /// The value at a JSON pointer-like key path (`["info", "version"]`).
    func value(at keys: [String]) -> Any? {
        keys.reduce(json as Any?) { node, key in
            if let object = node as? [String: Any] { return object[key] }
            if let array = node as? [Any], let index = Int(key), array.indices.contains(index) { return array[index] }
            return nil
        }
    }
}
