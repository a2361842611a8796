import Foundation
import Imaging
import ModelCatalog
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// The whole-photo path end to end with the fixtures' small networks: the real MobileNet-0.25
/// RetinaFace checkpoint, the tiny CodeFormer and ParseNet from its synthetic manifest. Random
/// weights make the faces meaningless; these tests check what the pipeline guarantees whatever
/// the weights: sizes, face counts, alpha, grey handling, option rules and missing-model errors.
/// (Each stage's arithmetic is checked against the reference in its own suite.) With random weights
/// the detector keeps hundreds of meaningless faces per photo, so these runs keep the centre face.
@Suite(.serialized) struct FaceRestorationPipelineTests {
    static let modelsAvailable = Fixtures.available("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")
        && Fixtures.available("facelib/parsenet/manifest.json") && Fixtures.available("codeformer/codeformer_tiny.pth")

    static let models: Result<FaceRestorationModels, Error> = Result {
        let loaded = FaceRestorationModels.load(
            from: ModelFiles(directory: "/nonexistent"), detector: .mobilenet,
            overrides: [.codeformer: Fixtures.url("codeformer/codeformer_tiny.pth"),
                        .detectionMobileNet: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"),
                        .parsing: Fixtures.url("facelib/parsenet/manifest.json")])
        for model in [ModelFiles.Model.codeformer, .detectionMobileNet, .parsing] where loaded.problems[model] != nil {
            throw RestorationError.modelFileUnreadable(path: model.fileName, reason: loaded.problems[model]!)
        }
        return loaded
    }

    static func image(_ name: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(name)")))
    }

    @Test(.enabled(if: modelsAvailable))
    func wholePhotoComesBackUpscaledWithEveryFaceAccountedFor() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let input = try Self.image("04.jpg")  // 225x225 -> input_img 512x512
        for upscale in [1, 2] {
            let result = try pipeline.restore(input, options: RestorationOptions(upscale: upscale, onlyCenterFace: true))
            #expect(result.image.width == 512 * upscale && result.image.height == 512 * upscale)
            #expect(result.image.channels == 3 && result.image.bitDepth == 8)
            #expect(result.facesFound == 1, "the random-weight detector finds faces on 04.jpg")
            #expect(result.facesRestored == result.facesFound)
            #expect(result.faces.count == result.facesFound)
            for face in result.faces {
                #expect(face.crop.width == 512 && face.crop.height == 512 && face.restored.width == 512)
            }
            #expect(result.applied.upscale == upscale)
            print("pipeline 04.jpg upscale \(upscale): \(result.facesFound) faces; \(result.timings.summary)")
        }
    }

    /// Warming up (as `serve` does at start-up) builds kernels ahead of the first request and
    /// changes nothing in its result.
    @Test(.enabled(if: modelsAvailable))
    func warmUpLeavesResultsAlone() throws {
        func freshModels() -> FaceRestorationModels {
            FaceRestorationModels.load(
                from: ModelFiles(directory: "/nonexistent"), detector: .mobilenet,
                overrides: [.codeformer: Fixtures.url("codeformer/codeformer_tiny.pth"),
                            .detectionMobileNet: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"),
                            .parsing: Fixtures.url("facelib/parsenet/manifest.json")])
        }
        let input = try Self.image("04.jpg")
        let options = RestorationOptions(upscale: 1, onlyCenterFace: true)
        let cold = try FaceRestorationPipeline(models: freshModels()).restore(input, options: options)
        let warmed = freshModels()
        try warmed.warmUp()
        let afterWarmUp = try FaceRestorationPipeline(models: warmed).restore(input, options: options)
        #expect(cold.facesFound == 1 && afterWarmUp.image == cold.image)
    }

    @Test(.enabled(if: modelsAvailable))
    func alphaIsCarriedThroughAndReattached() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        // 02.png: 1204x645 RGBA; short side >= 512, so input_img keeps the file size.
        var input = try Self.image("02.png")
        #expect(input.channels == 4)
        // Give it a non-trivial alpha (the file's is all 255): a horizontal ramp.
        for y in 0..<input.height { for x in 0..<input.width { input[x, y, 3] = x * 255 / (input.width - 1) } }
        let result = try pipeline.restore(input, options: RestorationOptions(upscale: 1, onlyCenterFace: true))
        #expect(result.image.width == 1204 && result.image.height == 645 && result.image.channels == 4)
        #expect(result.image[0, 10, 3] == 0 && result.image[1203, 10, 3] == 255 && abs(result.image[602, 300, 3] - 127) <= 1)
    }

    @Test(.enabled(if: modelsAvailable))
    func greyPhotosComeBackGrey() throws {
        // Restored faces of a grey photo become grey (bgr2gray) before paste-back, so the result has
        // no more colour than the input: nothing over the input's largest channel difference.
        func colourSpread(_ image: Image) -> Int {
            let p = image.pixels8, c = image.channels
            var spread = 0
            for i in stride(from: 0, to: p.count, by: c) {
                spread = max(spread, Int(max(p[i], p[i + 1], p[i + 2])) - Int(min(p[i], p[i + 1], p[i + 2])))
            }
            return spread
        }
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let input = try Self.image("Einstein01.png")
        let result = try pipeline.restore(input, options: RestorationOptions(upscale: 1, onlyCenterFace: true, useParse: false))
        #expect(result.inputWasGray)
        #expect(result.facesFound > 0, "the test needs at least one pasted face")
        #expect(colourSpread(result.image) <= colourSpread(input), "\(result.facesFound) faces")
        #expect(!InputPhoto(try Self.image("04.jpg")).isGray)
    }

    @Test(.enabled(if: modelsAvailable && Fixtures.available("realesrgan/tiny/tiny_rrdb_x2.pth")))
    func realESRGANUpsamplesBackgroundAndFaces() throws {
        let base = try Self.models.get()
        let upsampler = RealESRGANer(network: try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2.pth"), algorithm: .direct), tile: 400, tilePad: 40, prePad: 0)
        let models = FaceRestorationModels(codeformer: base.codeformer, detector: base.detector, parser: base.parser, upsampler: upsampler,
                                           files: base.files, detectorModel: base.detectorModel)
        let pipeline = FaceRestorationPipeline(models: models)
        let input = try Self.image("04.jpg")
        let plain = try pipeline.restore(input, options: RestorationOptions(upscale: 2, onlyCenterFace: true, useParse: false))
        let enhanced = try pipeline.restore(input, options: RestorationOptions(upscale: 2, backgroundEnhance: true, faceUpsample: true,
                                                                               onlyCenterFace: true, useParse: false))
        #expect(enhanced.image.width == 1024 && enhanced.image.height == 1024)
        #expect(enhanced.timings["upsample background"] != nil)
        #expect(enhanced.applied.backgroundEnhance && enhanced.applied.faceUpsample)
        // The tiny network's output is not a bilinear resize: the results must differ.
        let differing = zip(plain.image.pixels8, enhanced.image.pixels8).filter { $0 != $1 }.count
        #expect(differing > plain.image.pixels8.count / 10)
        print("pipeline with Real-ESRGAN: \(enhanced.timings.summary)")
    }

    @Test func largeImageRulesFollowTheDemo() throws {
        let limits = LargeImageLimits()
        let asked = RestorationOptions(upscale: 4, backgroundEnhance: true, faceUpsample: true)
        let small = FaceRestorationPipeline.applying(limits, to: asked, width: 800, height: 600)
        #expect(small == asked)
        let medium = FaceRestorationPipeline.applying(limits, to: asked, width: 1200, height: 900)
        #expect(medium.upscale == 2 && medium.backgroundEnhance && medium.faceUpsample)
        let large = FaceRestorationPipeline.applying(limits, to: asked, width: 1600, height: 900)
        #expect(large.upscale == 1 && !large.backgroundEnhance && !large.faceUpsample)
        let unlimited = FaceRestorationPipeline.applying(LargeImageLimits(reduceToTwoAbove: nil, reduceToOneAbove: nil), to: asked, width: 5000, height: 5000)
        #expect(unlimited == asked)
        #expect(FaceRestorationPipeline.applying(limits, to: RestorationOptions(upscale: 9), width: 10, height: 10).upscale == 4)
    }

    @Test func aMissingModelIsNamedWithHowToInstallIt() throws {
        let pipeline = FaceRestorationPipeline(models: FaceRestorationModels.load(from: ModelFiles(directory: "/nonexistent")))
        let image = Image(width: 64, height: 64, channels: 3, fill: 128)
        #expect(throws: RestorationError.self) { try pipeline.restore(image, options: RestorationOptions()) }
        do {
            _ = try pipeline.restore(image, options: RestorationOptions())
        } catch let error as RestorationError {
            guard case .modelMissing(let model, _, let url, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(model == "codeformer.pth")
            #expect(url.hasSuffix("/codeformer.pth"))
            #expect("\(error)".contains("facerestore models download"))
        }
        #expect(pipeline.requiredModels(for: RestorationOptions(backgroundEnhance: true)) == [.codeformer, .detectionResNet50, .parsing, .realesrganX2plus])
        #expect(pipeline.requiredModels(for: RestorationOptions(hasAligned: true)) == [.codeformer])
    }
}
