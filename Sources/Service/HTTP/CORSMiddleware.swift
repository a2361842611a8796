import HTTPTypes
import Hummingbird

/// Cross-origin access for browser clients, on every route: `Access-Control-Allow-Origin: *` on
/// every response (errors and static files included, with or without an `Origin` header), and a
/// 204 answer to any `OPTIONS` preflight that allows POST and DELETE (cancelling a job) with `Content-Type`. No credentials are
/// involved, so the wildcard is safe and needs no `Vary: Origin`.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    static var allowedMethods: String { "GET, POST, DELETE, HEAD, OPTIONS" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .options {
            // Echo the headers the browser asks for (it asks for exactly what the page sets);
            // Content-Type is what a FormData or JSON fetch needs.
            let requested = request.headers[.accessControlRequestHeaders]
                .map { $0.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "," || $0 == " " } }
            let headers: HTTPFields = [
                .accessControlAllowOrigin: "*",
                .accessControlAllowMethods: Self.allowedMethods,
                .accessControlAllowHeaders: requested.flatMap { $0.isEmpty ? nil : $0 } ?? "Content-Type",
                .accessControlMaxAge: "86400",
            ]
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = "*"
        // Lets a page read Retry-After on a 503, a job's Location and the request id.
        response.headers[.accessControlExposeHeaders] = "Retry-After, Location, X-Request-Id"
        return response
    }
}
