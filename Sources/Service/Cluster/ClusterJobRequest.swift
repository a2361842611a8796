import Foundation
import Restoration

/// A batch as a cluster's database keeps it (the job's `request` JSON; the image bytes are stored
/// beside it): everything a worker on another machine needs to restore it exactly as this replica
/// accepted it, and to answer with the same items.
struct ClusterJobRequest: Codable, Sendable, Equatable {
    var names: [String]
    var fileNames: [String]
    var baseURL: String
    var returnBase64: Bool
    var maxPixels: Int
    var options: StoredOptions

    init(_ accepted: RestorationIntake.Accepted) {
        names = accepted.names
        fileNames = accepted.batch.fileNames
        baseURL = accepted.baseURL
        returnBase64 = accepted.batch.returnBase64
        maxPixels = accepted.batch.maxPixels
        options = StoredOptions(accepted.batch.options)
    }

    /// The batch again, over `inputs` (the images in order). Base64 is never made by the worker:
    /// replicas read it back from the stored results when they show them.
    func batch(inputs: [Data]) -> BatchRestoration {
        BatchRestoration(images: zip(names, inputs).map { InputImage(name: $0, data: $1) }, options: options.restorationOptions,
                         maxPixels: maxPixels, fileNames: fileNames, returnBase64: false)
    }

    /// The response items for a batch's outputs (without base64).
    func items(_ outputs: [BatchRestoration.Output]) -> [StoredItem] {
        zip(names, outputs).map { name, output in
            StoredItem(originalName: name, filename: output.fileName, imageURL: "\(baseURL)/static/results/\(output.fileName)",
                       facesFound: output.facesFound, facesRestored: output.facesRestored, applied: StoredOptions(output.applied))
        }
    }

    static func decode(_ text: String) throws -> ClusterJobRequest {
        try JSONDecoder().decode(ClusterJobRequest.self, from: Data(text.utf8))
    }

    var encoded: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }
}

/// `RestorationOptions` as JSON.
struct StoredOptions: Codable, Sendable, Equatable {
    var fidelity: Float
    var upscale: Int
    var backgroundEnhance: Bool
    var faceUpsample: Bool
    var onlyCenterFace: Bool
    var drawBox: Bool
    var hasAligned: Bool
    var useParse: Bool
    var reduceToTwoAbove: Int?
    var reduceToOneAbove: Int?
    var maxPixels: Int?
    var maxFaces: Int?

    init(_ options: RestorationOptions) {
        fidelity = options.fidelity
        upscale = options.upscale
        backgroundEnhance = options.backgroundEnhance
        faceUpsample = options.faceUpsample
        onlyCenterFace = options.onlyCenterFace
        drawBox = options.drawBox
        hasAligned = options.hasAligned
        useParse = options.useParse
        reduceToTwoAbove = options.limits.reduceToTwoAbove
        reduceToOneAbove = options.limits.reduceToOneAbove
        maxPixels = options.limits.maxPixels
        maxFaces = options.maxFaces
    }

    var restorationOptions: RestorationOptions {
        var limits = LargeImageLimits()
        limits.reduceToTwoAbove = reduceToTwoAbove
        limits.reduceToOneAbove = reduceToOneAbove
        limits.maxPixels = maxPixels
        return RestorationOptions(fidelity: fidelity, upscale: upscale, backgroundEnhance: backgroundEnhance, faceUpsample: faceUpsample,
                                  onlyCenterFace: onlyCenterFace, drawBox: drawBox, hasAligned: hasAligned, useParse: useParse,
                                  limits: limits, maxFaces: maxFaces)
    }
}

/// One result item as JSON (the job's `results`); base64 is added when shown.
struct StoredItem: Codable, Sendable, Equatable {
    var originalName: String
    var filename: String
    var imageURL: String
    var facesFound: Int
    var facesRestored: Int
    var applied: StoredOptions

    func item(base64: String?) -> ProcessResponse.Item {
        ProcessResponse.Item(originalName: originalName, filename: filename, imageURL: imageURL, imageBase64: base64,
                             facesFound: facesFound, facesRestored: facesRestored,
                             applied: AppliedParameters(applied.restorationOptions))
    }

    static func decode(_ text: String) throws -> [StoredItem] {
        try JSONDecoder().decode([StoredItem].self, from: Data(text.utf8))
    }

    static func encode(_ items: [StoredItem]) -> String {
        String(decoding: try! JSONEncoder().encode(items), as: UTF8.self)
    }
}

/// `RestorationMonitor.Progress` as JSON (the job's `progress`).
struct StoredProgress: Codable, Sendable, Equatable {
    var stage: String
    var image: Int
    var images: Int
    var face: Int?
    var faces: Int?
    var fraction: Double

    init(_ progress: RestorationMonitor.Progress) {
        stage = progress.stage.rawValue
        image = progress.image
        images = progress.images
        face = progress.face
        faces = progress.faces
        fraction = progress.fraction
    }

    var progress: RestorationMonitor.Progress? {
        RestorationMonitor.Stage(rawValue: stage).map {
            RestorationMonitor.Progress(stage: $0, image: image, images: images, face: face, faces: faces, fraction: fraction)
        }
    }

    var encoded: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }

    static func decode(_ text: String) -> StoredProgress? {
        try? JSONDecoder().decode(StoredProgress.self, from: Data(text.utf8))
    }
}
