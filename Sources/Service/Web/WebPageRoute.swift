import HTTPTypes
import Hummingbird
import NIOCore
import Foundation

/// `GET /`: the page for trying the service in a browser, and `GET /web/{name}` its scripts, style
/// sheet and icon. The files live in `Web/Page` and are compiled into the binary (SwiftPM's
/// `embedInCode`), so the page works offline, with no files beside the executable and no build step.
/// The page talks to the service only through the public API (`../shared/API.md`).
struct WebPageRoute: Sendable {
    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/") { request, _ in try WebPageAsset.page.response(to: request) }
        router.get("/web/{name}") { request, context in
            let name = context.parameters.get("name") ?? ""
            guard let asset = WebPageAsset.named[name] else {
                throw ServiceError.notFound(path: String(request.uri.path.prefix(200)))
            }
            return try asset.response(to: request)
        }
    }
}

/// One file of the page, with what its responses need: the type, and a validator so a browser
/// revalidates (`no-cache`) and gets 304 until the binary changes.
struct WebPageAsset: Sendable {
    let bytes: [UInt8]
    let contentType: String
    let etag: String

    init(_ bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
        // FNV-1a over the bytes: any change to a file gives a new tag.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        etag = "\"\(String(hash, radix: 16))\""
    }

    static let page = WebPageAsset(PackageResources.index_html, contentType: "text/html; charset=utf-8")

    /// The files under `/web/`, by name.
    static let named: [String: WebPageAsset] = [
        "style.css": WebPageAsset(PackageResources.style_css, contentType: "text/css; charset=utf-8"),
        "icon.svg": WebPageAsset(PackageResources.icon_svg, contentType: "image/svg+xml"),
        "app.js": WebPageAsset(PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "api.js": WebPageAsset(PackageResources.api_js, contentType: "text/javascript; charset=utf-8"),
        "preflight.js": WebPageAsset(PackageResources.preflight_js, contentType: "text/javascript; charset=utf-8"),
        "compare.js": WebPageAsset(PackageResources.compare_js, contentType: "text/javascript; charset=utf-8"),
        "zip.js": WebPageAsset(PackageResources.zip_js, contentType: "text/javascript; charset=utf-8"),
    ]

    /// Scripts and styles only from the service itself; images and API calls also from another
    /// origin, because the page may be pointed at a service elsewhere (`?api=`), whose result URLs
    /// are absolute.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data: http: https:; "
        + "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    func response(to request: Request) throws -> Response {
        var headers: HTTPFields = [
            .contentType: contentType,
            .cacheControl: "no-cache",
            .eTag: etag,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        if contentType.hasPrefix("text/html") {
            headers[HTTPField.Name("Content-Security-Policy")!] = Self.contentSecurityPolicy
        }
        if let tags = request.headers[.ifNoneMatch], tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
