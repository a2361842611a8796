import Foundation
import HTTPTypes
import Hummingbird

/// `GET /static/results/{filename}`: a result PNG from the results folder, or 404 with the error
/// JSON once it has expired. The name is percent-decoded once and must be a plain file name
/// (`ResultStore.isServableName`); the store opens it relative to the folder without following
/// symlinks, so `..`, `%2F` and links pointing elsewhere all end in 404.
struct StaticResultsRoute: Sendable {
    let backend: any RestorationBackend
    let retention: Duration

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let raw = context.parameters.get("filename") ?? ""
        let name = raw.removingPercentEncoding ?? raw
        guard ResultStore.isServableName(name), let data = try await backend.result(name) else {
            throw ServiceError.notFound(path: String(request.uri.path.prefix(200)))
        }
        let headers: HTTPFields = [
            .contentType: "image/png",
            .cacheControl: "public, max-age=\(Int(retention.timeInterval))",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
