import Foundation
package import Imaging
package import ModelCatalog
import Networks
import TensorCore

/// The official demo's whole-photo path (`web-demos/hugging_face/app.py` with `FaceRestoreHelper`):
/// read, detect with RetinaFace, align each face to the 512 template, restore it with CodeFormer,
/// paste it back (with ParseNet's face mask) onto the bilinear- or Real-ESRGAN-upsampled background.
///
/// Thread safety: one `restore` at a time per pipeline (the networks use all cores already).
package final class FaceRestorationPipeline: @unchecked Sendable {
    package let models: FaceRestorationModels

    /// How long feature-map buffers outlive a request with none after it.
    static let cachedBufferLifetime = Duration.seconds(5)

    package init(models: FaceRestorationModels) {
        self.models = models
    }

    /// The options after the demo's large-image rules, which look at the decoded file's size.
    package static func applying(_ limits: LargeImageLimits, to options: RestorationOptions, width: Int, height: Int) -> RestorationOptions {
        var applied = options
        applied.upscale = min(max(applied.upscale, 1), 4)
        let longSide = max(width, height)
        if let limit = limits.reduceToTwoAbove, applied.upscale > 2, longSide > limit { applied.upscale = 2 }
        if let limit = limits.reduceToOneAbove, longSide > limit {
            applied.upscale = 1
            applied.backgroundEnhance = false
            applied.faceUpsample = false
        }
        return applied
    }

    /// The options a `width × height` photo runs with (`applying` the large-image rules), or
    /// `RestorationError.imageTooLarge` when an image the restoration would hold (`WorkingSizes`)
    /// is over `options.limits.maxPixels`. Callers check it before decoding; `restore` checks again.
    package static func plan(_ options: RestorationOptions, width: Int, height: Int, upsamplerScale: Int = 2) throws -> RestorationOptions {
        let applied = applying(options.limits, to: options, width: width, height: height)
        if let limit = options.limits.maxPixels,
           let stage = WorkingSizes(width: width, height: height, options: applied, upsamplerScale: upsamplerScale).firstOver(limit) {
            throw RestorationError.imageTooLarge(stage: stage.name, width: stage.width, height: stage.height, limit: limit)
        }
        return applied
    }

    /// The models `options` need, in the order they are used.
    package func requiredModels(for options: RestorationOptions) -> [ModelFiles.Model] {
        Self.requiredModels(for: options, detector: models.detectorModel)
    }

    /// The one rule for which models a restoration with `options` needs, in the order they are
    /// used (and a user should install them), with `detector` as the face detector: CodeFormer
    /// always; for whole photos the detector, ParseNet unless `useParse` is off, and Real-ESRGAN
    /// when an option that uses it survived the large-image rules. The service's 503s use it too.
    package static func requiredModels(for options: RestorationOptions, detector: ModelFiles.Model) -> [ModelFiles.Model] {
        var needed: [ModelFiles.Model] = [.codeformer]
        if !options.hasAligned {
            needed.append(detector)
            if options.useParse { needed.append(.parsing) }
            if options.backgroundEnhance || options.faceUpsample { needed.append(.realesrganX2plus) }
        }
        return needed
    }

    /// Throws `RestorationError.modelMissing` for the first model `options` need that is not loaded.
    package func checkModels(for options: RestorationOptions) throws {
        for model in requiredModels(for: options) where !isLoaded(model) {
            throw missing(model)
        }
    }

    func isLoaded(_ model: ModelFiles.Model) -> Bool {
        switch model {
        case .codeformer: models.codeformer != nil
        case .detectionResNet50, .detectionMobileNet: models.detector != nil && model == models.detectorModel
        case .parsing: models.parser != nil
        case .realesrganX2plus: models.upsampler != nil
        }
    }

    func missing(_ model: ModelFiles.Model) -> RestorationError {
        .modelMissing(model: model.fileName, directory: models.files.directory.path, releaseURL: model.releaseURL, license: model.license)
    }

    /// Restores `image` (as decoded from a file: grey, RGB or RGBA, 8 or 16 bit, EXIF already applied).
    /// `monitor` follows the stages and can stop the restoration before any face or tile
    /// (`RestorationError.stopped`).
    package func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor = RestorationMonitor()) throws -> RestorationResult {
        // Feature maps freed during the request are reused by its later stages and by a request
        // that follows within seconds, then given back.
        defer { TensorStorage.releaseCachedBuffers(whenIdleFor: Self.cachedBufferLifetime) }
        let applied = try Self.plan(options, width: image.width, height: image.height, upsamplerScale: models.upsampler?.scale ?? 2)
        try checkModels(for: applied)
        guard let codeformer = models.codeformer else { throw missing(.codeformer) }
        if applied.hasAligned {
            try monitor.enter(.restore, face: 1, of: 1, done: 0)
            let result = try AlignedFaceRestorer(codeformer: codeformer).restore(image, fidelity: applied.fidelity)
            let crop = image.splitAlpha().color.openCVColor().resized(width: 512, height: 512).swappingRedBlue()
            return RestorationResult(image: result.image, facesFound: 1, facesRestored: 1, applied: applied,
                                     faces: [RestoredFace(crop: crop, restored: result.image.droppingAlpha())],
                                     inputWasGray: result.inputWasGray)
        }
        guard let network = models.detector else { throw missing(models.detectorModel) }

        typealias Weights = RestorationMonitor.Weights
        var timings = StageTimings()
        try monitor.enter(.detect, done: 0)
        let photo = timings.measure("read") { InputPhoto(image) }
        let detected = try timings.measure("detect") {
            try FaceDetector(network: network).detect(in: photo.bgr, onlyCenterFace: applied.onlyCenterFace)
        }
        let chosen = Self.largest(detected, count: applied.maxFaces)
        let upsampleMegapixels = applied.backgroundEnhance && models.upsampler != nil ? Double(image.pixelCount) / 1e6 : nil
        let upsamplesFaces = applied.faceUpsample && models.upsampler != nil
        monitor.plan(faces: chosen.count, backgroundMegapixels: upsampleMegapixels, faceUpsample: upsamplesFaces)
        var done = Weights.detect
        var faces: [AlignedFace] = []
        for (index, face) in chosen.enumerated() {
            try monitor.enter(.restore, face: index + 1, of: chosen.count, done: done)
            done += Weights.restorePerFace
            guard let (affine, crop) = timings.measure("align", { () -> (AffineMatrix, Image)? in
                guard let affine = FaceAlignment.affine(landmarks: face.landmarks) else { return nil }
                return (affine, FaceAlignment.crop(photo.bgr, affine: affine))
            }) else { continue }  // degenerate landmarks: counted as found, not restored
            let restored = try timings.measure("restore") {
                let output = try codeformer(FaceTensor.tensor(fromBGR: crop.pixels8, width: crop.width, height: crop.height),
                                            w: applied.fidelity, adain: true)
                return Image(width: crop.width, height: crop.height, channels: 3, pixels8: try FaceTensor.bgr(from: output.image))
            }
            faces.append(AlignedFace(affine: affine, crop: crop, restored: restored))
        }

        var background: Image?
        if applied.backgroundEnhance, let upsampler = models.upsampler, let megapixels = upsampleMegapixels {
            let start = done
            background = try timings.measure("upsample background") {
                // The demo upsamples the file as read (before read_image's 512 upscale), RGB in, RGB out.
                let file = image.splitAlpha().color.to8Bit().color(order: .rgb)
                return try upsampler.enhance(file, outscale: Double(applied.upscale)) { tile, tiles in
                    try monitor.enter(.upsample, done: start + megapixels * Weights.upsamplePerMegapixel * Double(tile) / Double(tiles))
                }.swappingRedBlue()
            }
            done += megapixels * Weights.upsamplePerMegapixel
        }
        var paste = PasteBack(upscale: applied.upscale, parser: nil, drawBox: applied.drawBox)
        let parseSeconds = SecondsCounter()
        if applied.useParse, let parser = models.parser {
            paste.faceMask = { bgr in
                monitor.note(.parse)
                return try parseSeconds.measure { try ParseMask.faceMask(parser: parser, bgr: bgr, width: 512, height: 512) }
            }
        }
        let faceUpsampleSeconds = SecondsCounter()
        if applied.faceUpsample, let upsampler = models.upsampler {
            let scale = Double(applied.upscale)
            paste.faceUpsampler = { face in
                try faceUpsampleSeconds.measure {
                    try upsampler.enhance(face.swappingRedBlue(), outscale: scale) { _, _ in
                        try monitor.checkpoint()
                        monitor.note(.upsample)
                    }.swappingRedBlue()
                }
            }
        }
        let pasteStart = done
        let perFace = Weights.pastePerFace + (upsamplesFaces ? Weights.faceUpsamplePerFace : 0)
        paste.beforeFace = { index, count in
            try monitor.enter(.paste, face: index + 1, of: count, done: pasteStart + Double(index) * perFace)
        }
        let pasteFaces = faces.map { face in
            // Grey photos: the helper turns each restored face grey (`bgr2gray`, Float64, unrounded).
            PasteBack.Face(restored: photo.isGray ? .doubles(Grayscale.grayBGRValues(face.restored.pixels8), size: face.restored.width)
                                                  : .bytes(face.restored),
                           affine: face.affine)
        }
        try monitor.enter(.paste, done: pasteStart)
        let pasted = try timings.measure("paste") { try paste.paste(pasteFaces, onto: photo.bgr, upsampledBackground: background) }
        if parseSeconds.total > 0 { timings.add("parse", parseSeconds.total, from: "paste") }
        if faceUpsampleSeconds.total > 0 { timings.add("upsample faces", faceUpsampleSeconds.total, from: "paste") }
        var result = pasted.swappingRedBlue()
        if let alpha = photo.alpha {
            result = try result.attachingAlpha(alpha.to8Bit().resized(width: result.width, height: result.height, interpolation: .linear))
        }
        return RestorationResult(
            image: result, facesFound: detected.count, facesRestored: faces.count, applied: applied,
            faces: faces.map { RestoredFace(crop: $0.crop.swappingRedBlue(), restored: $0.restored.swappingRedBlue()) },
            inputWasGray: photo.isGray, timings: timings)
    }

    /// The `count` faces with the largest boxes, in detection order (all of them when `count` is nil
    /// or not smaller): the ones `--max-faces` keeps.
    package static func largest(_ faces: [DetectedFace], count: Int?) -> [DetectedFace] {
        guard let count, count < faces.count else { return faces }
        func area(_ face: DetectedFace) -> Float { max(0, face.box[2] - face.box[0]) * max(0, face.box[3] - face.box[1]) }
        let kept = faces.indices.sorted { (area(faces[$0]), -$0) > (area(faces[$1]), -$1) }.prefix(max(0, count))
        return kept.sorted().map { faces[$0] }
    }

    /// Seconds spent in a closure the pipeline hands to another stage (ParseNet and face upsampling
    /// inside paste-back).
    final class SecondsCounter {
        private(set) var total = 0.0
        func measure<T>(_ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now().uptimeNanoseconds
            defer { total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            return try body()
        }
    }

    /// One face on its way through the pipeline (BGR).
    struct AlignedFace {
        let affine: AffineMatrix
        let crop: Image
        let restored: Image
    }
}
