import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import NIOCore
import Restoration

/// Takes in the body of `POST /api/process` and `POST /api/jobs` (the same body, the same rules):
/// everything that can be refused cheaply is refused on the request task, in the contract's order:
/// a draining server (503), content type (415), a full queue (503 + Retry-After, before the upload
/// is read), body size (413), the uploads held at once (503 + Retry-After), parsing and parameters
/// (400), batch length, image bytes, header pixel counts and the sizes the restoration would make
/// (413), missing models (503). What passes is a batch ready for the inference queue.
struct RestorationIntake: Sendable {
    let configuration: ServiceConfiguration
    let backend: any RestorationBackend
    let uploads: UploadBudget
    let readiness: ServiceReadiness

    /// A request that passed every check.
    struct Accepted: Sendable {
        let batch: BatchRestoration
        /// The names the client gave its images, in order.
        let names: [String]
        /// Where result URLs point: the public base URL, or the request's scheme and host.
        let baseURL: String
        /// The bytes of the upload held against `--max-buffered-uploads`; release when the
        /// restoration is over (the decoded images live until then).
        let reservation: UploadBudget.Reservation

        /// The response items for `outputs` of this batch.
        func items(_ outputs: [BatchRestoration.Output]) -> [ProcessResponse.Item] {
            zip(names, outputs).map { name, output in
                ProcessResponse.Item(originalName: name, filename: output.fileName,
                                     imageURL: "\(baseURL)/static/results/\(output.fileName)", imageBase64: output.base64,
                                     facesFound: output.facesFound, facesRestored: output.facesRestored,
                                     applied: AppliedParameters(output.applied))
            }
        }
    }

    func accept(_ request: Request, context: ServiceRequestContext) async throws -> Accepted {
        if readiness.isDraining { throw ServiceError.shuttingDown }
        let kind = try ProcessRequestParser.kind(of: request.headers[.contentType])
        // A full queue is refused before the upload is read; `executor.enqueue` checks again.
        if let seconds = try await backend.retryAfterIfFull(client: context.client) {
            throw ServiceError.atCapacity(retryAfterSeconds: seconds)
        }
        let limit = configuration.maxBodyBytes
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw ServiceError.bodyTooLarge(limit: limit) }
        guard let reservation = uploads.reserve(declared ?? limit) else {
            throw ServiceError.uploadsAtCapacity(retryAfterSeconds: await backend.secondsUntilNextSlot())
        }
        do {
            let body = try await collectBody(request)
            context.logFields.bytesIn = body.readableBytes
            let parser = ProcessRequestParser(maxImageBytes: configuration.maxImageBytes, maxBatch: configuration.maxBatch)
            let parsed = try parser.parse(body, as: kind)
            let parameters = try ProcessParameters(parsed.parameters)
            let options = parameters.restorationOptions(limits: configuration.restorationLimits, maxFaces: configuration.maxFaces)
            for index in parsed.images.indices {
                try await check(parsed.images[index], label: parser.label(index, of: parsed.images), options: options)
            }
            let batch = BatchRestoration(images: parsed.images, options: options, maxPixels: configuration.maxPixels,
                                         fileNames: parsed.images.map { _ in ResultStore.newFileName() },
                                         returnBase64: parameters.returnBase64)
            let base = PublicBaseURL.resolve(configured: configuration.publicBaseURL, request: request, fallbackHost: fallbackHost)
            return Accepted(batch: batch, names: parsed.images.map(\.name), baseURL: base, reservation: reservation)
        } catch {
            reservation.release()
            throw error
        }
    }

    /// One image's header against the pixel limits, the sizes its restoration would make, and the
    /// models it needs.
    private func check(_ image: InputImage, label: ImageLabel, options: RestorationOptions) async throws {
        let header: (format: ImageFormat, width: Int, height: Int)
        do {
            header = try ImageDecoder.probe(image.data)
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
        if let (file, state) = try await backend.firstUnavailable(for: applied) {
            throw ModelInventory.unavailableError(file: file, state: state)
        }
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
