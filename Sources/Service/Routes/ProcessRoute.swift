import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import NIOCore
import Restoration

/// `POST /api/process`. Everything that can be refused cheaply is refused on the request task,
/// in the contract's order: content type (415), a full queue (503 + Retry-After, before the upload
/// is read), body size (413), the uploads held at once (503 + Retry-After), parsing and parameters (400), batch length, image bytes, header
/// pixel counts and the sizes the restoration would make (413), missing models (503); only then does the request take a place in the
/// inference queue (503 + Retry-After if it filled up meanwhile).
struct ProcessRoute: Sendable {
    let configuration: ServiceConfiguration
    let restorer: any PhotoRestorer
    let executor: InferenceExecutor
    let store: ResultStore
    let uploads: UploadBudget

    func handle(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let kind = try ProcessRequestParser.kind(of: request.headers[.contentType])
        // A full queue is refused before the upload is read; `executor.run` checks again.
        if let seconds = executor.retryAfterIfFull(client: context.client) { throw ServiceError.atCapacity(retryAfterSeconds: seconds) }
        let limit = configuration.maxBodyBytes
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw ServiceError.bodyTooLarge(limit: limit) }
        // Held until the response is made: the body and what is decoded from it live that long.
        guard let reservation = uploads.reserve(declared ?? limit) else {
            throw ServiceError.uploadsAtCapacity(retryAfterSeconds: executor.secondsUntilNextSlot)
        }
        defer { reservation.release() }
        let body = try await collectBody(request)
        context.logFields.bytesIn = body.readableBytes
        let parser = ProcessRequestParser(maxImageBytes: configuration.maxImageBytes, maxBatch: configuration.maxBatch)
        let parsed = try parser.parse(body, as: kind)
        let parameters = try ProcessParameters(parsed.parameters)
        let options = parameters.restorationOptions(limits: configuration.restorationLimits)

        let inventory = restorer.inventory
        for index in parsed.images.indices {
            let label = parser.label(index, of: parsed.images)
            let header: (format: ImageFormat, width: Int, height: Int)
            do {
                header = try ImageDecoder.probe(parsed.images[index].data)
            } catch let error as ImagingError {
                throw ServiceError.invalidImage(label, reason: error.description)
            }
            guard header.width > 0, header.height > 0 else {
                throw ServiceError.invalidImage(label, reason: "its header gives it no pixels (\(header.width)x\(header.height))")
            }
            let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
            guard !overflow, pixels <= configuration.maxPixels else {
                throw ServiceError.tooManyPixels(label, width: header.width, height: header.height, limit: configuration.maxPixels)
            }
            let applied: RestorationOptions
            do {
                applied = try FaceRestorationPipeline.plan(options, width: header.width, height: header.height)
            } catch let error as RestorationError {
                throw ServiceError.workTooLarge(label, reason: error.description)
            }
            if let (file, state) = inventory.firstUnavailable(for: applied) {
                throw ModelInventory.unavailableError(file: file, state: state)
            }
        }

        let batch = BatchRestoration(images: parsed.images, options: options, maxPixels: configuration.maxPixels,
                                     fileNames: parsed.images.map { _ in ResultStore.newFileName() },
                                     returnBase64: parameters.returnBase64)
        let (restorer, store) = (self.restorer, self.store)
        let outputs = try await executor.run(client: context.client) { try batch.run(restorer: restorer, store: store) }
        for output in outputs { context.logFields.addFaces(found: output.facesFound, restored: output.facesRestored) }

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

    /// The body, refused with 413 as soon as it is over the limit while streaming (a declared
    /// length over it was refused before).
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
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
