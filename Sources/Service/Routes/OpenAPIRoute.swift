import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 document of every route, `OpenAPI/openapi.json` compiled into
/// the binary and served byte for byte as the repository keeps it, with the same validator
/// (`ETag`, 304) as the web page's files.
struct OpenAPIRoute: Sendable {
    static let document = WebPageAsset(PackageResources.openapi_json, contentType: "application/json; charset=utf-8")

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/openapi.json") { request, _ in try Self.document.response(to: request) }
    }
}
