import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import NIOCore
import Restoration

/// `POST /api/process`. Everything that can be refused cheaply is refused on the request task,
/// in the contract's order: content type (415), a full queue (503 + Retry-After, before the upload
/// is read), body size (413), parsing and parameters (400), batch length, image bytes and header
/// pixel counts (413), missing models (503); only then does the request take a place in the
/// inference queue (503 + Retry-After if it filled up meanwhile).
struct ProcessRoute: Sendable {
    let configuration: ServiceConfiguration
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let kind = try ProcessRequestParser.kind(of: request.headers[.contentType])
        // A full queue is refused before the upload is read; `executor.run` checks again.
        if let seconds = executor.retryAfterIfFull { throw ServiceError.atCapacity(retryAfterSeconds: seconds) }
        let body = try await collectBody(request)
        let parser = ProcessRequestParser(maxImageBytes: configuration.maxImageBytes, maxBatch: configuration.maxBatch)
        let parsed = try parser.parse(body, as: kind)
        let parameters = try ProcessParameters(parsed.parameters)
        let options = parameters.restorationOptions(limits: configuration.largeImageLimits)

        let inventory = restorer.inventory
        for index in parsed.images.indices {
            let label = parser.label(index, of: parsed.images)
            let header: (format: ImageFormat, width: Int, height: Int)
            do {
                header = try ImageDecoder.probe(parsed.images[index].data)
            } catch let error as ImagingError {
                throw ServiceError.invalidImage(label, reason: error.description)
            }
            let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
            guard !overflow, pixels <= configuration.maxPixels else {
                throw ServiceError.tooManyPixels(label, width: header.width, height: header.height, limit: configuration.maxPixels)
            }
            if let missing = inventory.firstMissing(for: LargeImageRule.applied(options, width: header.width, height: header.height)) {
                throw ServiceError.modelMissing(file: missing)
            }
        }

        let batch = BatchRestoration(images: parsed.images, options: options, maxPixels: configuration.maxPixels,
                                     fileNames: parsed.images.map { _ in ResultStore.newFileName() },
                                     returnBase64: parameters.returnBase64)
        let (restorer, store) = (self.restorer, self.store)
        let outputs = try await executor.run { try batch.run(restorer: restorer, store: store) }

        let base = PublicBaseURL.resolve(configured: configuration.publicBaseURL, request: request,
                                         fallbackHost: fallbackHost)
        let items = zip(parsed.images, outputs).map { input, output in
            ProcessResponse.Item(originalName: input.name, filename: output.fileName,
                                 imageURL: "\(base)/static/results/\(output.fileName)", imageBase64: output.base64,
                                 facesFound: output.facesFound, facesRestored: output.facesRestored,
                                 applied: AppliedParameters(output.applied))
        }
        return JSONResponse.make(ProcessResponse(results: items))
    }

    /// The body, refused with 413 as soon as it is known to be over the limit: from Content-Length
    /// before reading anything, else while streaming.
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServiceError.bodyTooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServiceError.bodyTooLarge(limit: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServiceError.bodyTooLarge(limit: limit)
        }
    }

    /// The host for `image_url` when a request has no Host header (HTTP/1.0).
    private var fallbackHost: String {
        let host = ["0.0.0.0", "::", "[::]"].contains(configuration.host) ? "localhost" : configuration.host
        return "\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(configuration.port)"
    }
}
