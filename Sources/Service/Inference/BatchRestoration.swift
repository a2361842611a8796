import Foundation
import Imaging
import Restoration

/// One request's images restored as a unit, on the inference thread: every image is decoded
/// before any is restored (so a bad third image fails the request before work is spent on the
/// first two), results are encoded in memory, and the files are written all together at the end.
/// Any failure leaves the results folder as it was; one to write there is a 507 naming the cause.
struct BatchRestoration: Sendable {
    var images: [InputImage]
    var options: RestorationOptions
    var maxPixels: Int
    var fileNames: [String]
    var returnBase64: Bool

    struct Output: Sendable {
        var fileName: String
        var base64: String?
        var facesFound: Int
        var facesRestored: Int
        var applied: RestorationOptions
        var timings: StageTimings
    }

    /// The restored images, encoded, with the names they are stored under.
    struct Restored: Sendable {
        var outputs: [Output]
        var files: [(name: String, data: Data)]
    }

    /// Restores the batch and stores it in the results folder, reporting to `monitor` and stopping
    /// when it says so.
    func run(restorer: any PhotoRestorer, store: ResultStore, monitor: RestorationMonitor = RestorationMonitor()) throws -> [Output] {
        let restored = try restore(restorer: restorer, monitor: monitor)
        do {
            try store.writeAll(restored.files)
        } catch let error as ResultStoreError {
            throw error.serviceError
        }
        return restored.outputs
    }

    /// Restores the batch without storing it (`run` stores into the folder; a cluster's worker into
    /// the database); the monitor is at the `store` stage when this returns.
    func restore(restorer: any PhotoRestorer, monitor: RestorationMonitor = RestorationMonitor()) throws -> Restored {
        // A lone image is decoded once; a batch is decoded twice (checked up front, then again
        // one at a time) so that only one decoded image is held at once.
        var decodedSingle: Image? = nil
        for index in images.indices {
            let image = try decode(index)
            if images.count == 1 { decodedSingle = image }
        }
        var files: [(name: String, data: Data)] = []
        var outputs: [Output] = []
        for index in images.indices {
            try monitor.begin(.decode, image: index + 1, of: images.count)
            let image = try decodedSingle ?? decode(index)
            let result: RestorationResult
            do {
                result = try restorer.restore(image, options: options, monitor: monitor)
            } catch RestorationError.modelMissing(let model, _, _, _) {
                throw ServiceError.modelMissing(file: model)
            } catch let error as RestorationError {
                guard case .imageTooLarge = error else { throw error }
                throw ServiceError.workTooLarge(label(index), reason: error.description)
            }
            let png = try ImageEncoder.png(result.image)
            files.append((fileNames[index], png))
            outputs.append(Output(fileName: fileNames[index], base64: returnBase64 ? png.base64EncodedString() : nil,
                                  facesFound: result.facesFound, facesRestored: result.facesRestored, applied: result.applied,
                                  timings: result.timings))
        }
        try monitor.begin(.store, image: images.count, of: images.count)
        return Restored(outputs: outputs, files: files)
    }

    private func label(_ index: Int) -> ImageLabel {
        ImageLabel(index: index + 1, count: images.count, name: images[index].name)
    }

    private func decode(_ index: Int) throws -> Image {
        let label = label(index)
        do {
            return try ImageDecoder.decode(images[index].data, maxPixels: maxPixels)
        } catch ImagingError.tooLarge(let width, let height, let limit) {
            throw ServiceError.tooManyPixels(label, width: width, height: height, limit: limit)
        } catch let error as ImagingError {
            throw ServiceError.invalidImage(label, reason: error.description)
        }
    }
}
