import Imaging
import Testing
@testable import Restoration

/// The sizes a restoration will allocate, known before decoding: what turns a 2 KB aspect-ratio
/// bomb into a refusal instead of an allocation that ends the process.
@Suite struct WorkingSizesTests {
    @Test("each stage's size matches what the pipeline makes")
    func stagesMatchThePipeline() throws {
        // 200x112 (short side under 512): enlarged exactly as InputPhoto does it.
        let image = Image(width: 200, height: 112, channels: 3, fill: 90)
        let photo = InputPhoto(image)
        let sizes = WorkingSizes(width: 200, height: 112, options: RestorationOptions(upscale: 2, backgroundEnhance: true), upsamplerScale: 2)
        let byName = Dictionary(uniqueKeysWithValues: sizes.stages.map { ($0.name, ($0.width, $0.height)) })
        let enlarged = try #require(byName["the photo enlarged to a short side of 512 px"])
        #expect(enlarged == (photo.bgr.width, photo.bgr.height))
        let detector = FaceDetector.detectorSize(width: photo.bgr.width, height: photo.bgr.height)
        #expect(try #require(byName["the face detector's input"]) == (detector.width, detector.height))
        #expect(try #require(byName["the result at upscale 2"]) == (photo.bgr.width * 2, photo.bgr.height * 2))
        #expect(try #require(byName["Real-ESRGAN's background"]) == (400, 224))
        // Without background enhancement there is no Real-ESRGAN stage.
        #expect(WorkingSizes(width: 200, height: 112, options: RestorationOptions()).stages.count == 4)
    }

    @Test("aspect-ratio bombs are refused with the stage that is too large; ordinary photos pass",
          arguments: [(3, 100_000), (100_000, 3), (1, 25_000_000), (64, 16_000)])
    func bombsAreRefused(width: Int, height: Int) throws {
        let options = RestorationOptions(limits: LargeImageLimits(maxPixels: 25_000_000))
        #expect(width * height <= 25_000_000, "the header alone passes the pixel limit")
        do {
            _ = try FaceRestorationPipeline.plan(options, width: width, height: height)
            Issue.record("\(width)x\(height) was not refused")
        } catch RestorationError.imageTooLarge(let stage, let w, let h, let limit) {
            #expect(limit == 25_000_000)
            #expect(w.multipliedReportingOverflow(by: h).partialValue > limit)
            #expect(stage.contains("enlarged") || stage.contains("detector"), "\(stage)")
        }
    }

    @Test("ordinary photos and the demo's own large-image rules stay within the default limit",
          arguments: [(225, 225), (1000, 1000), (1500, 1000), (4000, 6000), (5000, 5000), (300, 3000)])
    func ordinaryPhotosPass(width: Int, height: Int) throws {
        let options = RestorationOptions(upscale: 4, backgroundEnhance: true, faceUpsample: true,
                                         limits: LargeImageLimits(maxPixels: 25_000_000))
        let applied = try FaceRestorationPipeline.plan(options, width: width, height: height)
        #expect(applied == FaceRestorationPipeline.applying(options.limits, to: options, width: width, height: height))
    }

    @Test("with the demo's rules off, an upscale that makes too large a result is refused by name")
    func upscaleTooLarge() throws {
        let options = RestorationOptions(upscale: 4, limits: LargeImageLimits(reduceToTwoAbove: nil, reduceToOneAbove: nil, maxPixels: 25_000_000))
        #expect(throws: RestorationError.imageTooLarge(stage: "the result at upscale 4", width: 20000, height: 20000, limit: 25_000_000)) {
            try FaceRestorationPipeline.plan(options, width: 5000, height: 5000)
        }
        // No limit: nothing is refused (the CLI's default).
        #expect((try? FaceRestorationPipeline.plan(RestorationOptions(upscale: 4), width: 3, height: 100_000)) != nil)
    }
}
