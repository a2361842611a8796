import Foundation
import Imaging
import ModelCatalog
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// Following and stopping a restoration (`RestorationMonitor`), and `maxFaces`, on a real photo with
/// the real MobileNet-0.25 detector (02.png: four real faces), the tiny CodeFormer, ParseNet from
/// its synthetic manifest and the tiny x2 RRDBNet as Real-ESRGAN.
@Suite(.serialized) struct RestorationMonitorTests {
    static let modelsAvailable = ["facelib/retinaface_mnet_real/detection_mobilenet0.25_Final.pth", "facelib/parsenet/manifest.json",
                                  "codeformer/codeformer_tiny.pth", "realesrgan/tiny/tiny_rrdb_x2.pth", "images/02.png"]
        .allSatisfy(Fixtures.available)

    static let models: Result<FaceRestorationModels, Error> = Result {
        let loaded = FaceRestorationModels.load(
            from: ModelFiles(directory: "/nonexistent"), detector: .mobilenet,
            overrides: [.codeformer: Fixtures.url("codeformer/codeformer_tiny.pth"),
                        .detectionMobileNet: Fixtures.url("facelib/retinaface_mnet_real/detection_mobilenet0.25_Final.pth"),
                        .parsing: Fixtures.url("facelib/parsenet/manifest.json"),
                        .realesrganX2plus: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2.pth")])
        for model in [ModelFiles.Model.codeformer, .detectionMobileNet, .parsing, .realesrganX2plus] where loaded.problems[model] != nil {
            throw RestorationError.modelFileUnreadable(path: model.fileName, reason: loaded.problems[model]!)
        }
        return loaded
    }

    static func photo() throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/02.png")))
    }

    /// Every progress report, in order.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [RestorationMonitor.Progress] = []
        func append(_ progress: RestorationMonitor.Progress) { lock.withLock { list.append(progress) } }
        var all: [RestorationMonitor.Progress] { lock.withLock { list } }
    }

    @Test(.enabled(if: modelsAvailable))
    func progressNamesEveryStageAndOnlyMovesForward() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let reports = Reports()
        let monitor = RestorationMonitor { reports.append($0) }
        let result = try pipeline.restore(try Self.photo(), options: RestorationOptions(upscale: 2, backgroundEnhance: true), monitor: monitor)
        #expect(result.facesFound == 4 && result.facesRestored == 4)
        let seen = reports.all
        #expect(Set(seen.map(\.stage)) == [.detect, .restore, .upsample, .paste, .parse])
        #expect(seen.filter { $0.stage == .restore }.map(\.face) == [1, 2, 3, 4])
        #expect(seen.filter { $0.stage == .restore }.allSatisfy { $0.faces == 4 })
        // 1204x645 in tiles of 400: 4 x 2 network runs.
        #expect(seen.filter { $0.stage == .upsample }.count == 8)
        let fractions = seen.map(\.fraction)
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 }, "progress went backwards: \(fractions)")
        #expect(fractions.first! < 0.1 && fractions.last! > 0.9 && fractions.last! <= 1)
    }

    @Test(.enabled(if: modelsAvailable))
    func aStopTakesEffectAtTheNextFace() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let reports = Reports()
        let box = MonitorBox()
        let monitor = RestorationMonitor { progress in
            reports.append(progress)
            if progress.stage == .restore && progress.face == 2 { box.monitor?.stop(.deadline) }
        }
        box.monitor = monitor
        #expect(throws: RestorationError.stopped(.deadline)) {
            try pipeline.restore(try Self.photo(), options: RestorationOptions(), monitor: monitor)
        }
        // Face 2 had started when the stop came; face 3 never did.
        #expect(reports.all.last?.stage == .restore && reports.all.last?.face == 2)
        #expect(monitor.stopReason == .deadline)
    }

    @Test(.enabled(if: modelsAvailable))
    func aStopTakesEffectAtTheNextTile() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let reports = Reports()
        let box = MonitorBox()
        let monitor = RestorationMonitor { progress in
            reports.append(progress)
            if progress.stage == .upsample && reports.all.filter({ $0.stage == .upsample }).count == 3 { box.monitor?.stop(.shutdown) }
        }
        box.monitor = monitor
        #expect(throws: RestorationError.stopped(.shutdown)) {
            try pipeline.restore(try Self.photo(), options: RestorationOptions(backgroundEnhance: true), monitor: monitor)
        }
        #expect(reports.all.filter { $0.stage == .upsample }.count == 3)
        #expect(!reports.all.contains { $0.stage == .paste })
    }

    @Test(.enabled(if: modelsAvailable))
    func aMonitorStoppedBeforehandStopsBeforeDetection() throws {
        let pipeline = FaceRestorationPipeline(models: try Self.models.get())
        let monitor = RestorationMonitor()
        monitor.stop(.cancelled)
        monitor.stop(.deadline)  // the first reason wins
        #expect(throws: RestorationError.stopped(.cancelled)) {
            try pipeline.restore(try Self.photo(), options: RestorationOptions(), monitor: monitor)
        }
    }

    /// `maxFaces` restores the largest faces and leaves the others exactly as a restoration of
    /// none would (the bilinear background there).
    @Test(.enabled(if: modelsAvailable))
    func maxFacesRestoresTheLargestAndLeavesTheRest() throws {
        let models = try Self.models.get()
        let pipeline = FaceRestorationPipeline(models: models)
        let input = try Self.photo()
        let options = RestorationOptions(upscale: 1)
        var limited = options
        limited.maxFaces = 2
        var none = options
        none.maxFaces = 0
        let two = try pipeline.restore(input, options: limited)
        let zero = try pipeline.restore(input, options: none)
        #expect(two.facesFound == 4 && two.facesRestored == 2)
        #expect(zero.facesFound == 4 && zero.facesRestored == 0)

        let detected = try FaceDetector(network: models.detector!).detect(in: InputPhoto(input).bgr, onlyCenterFace: false)
        #expect(detected.count == 4)
        func area(_ face: DetectedFace) -> Float { (face.box[2] - face.box[0]) * (face.box[3] - face.box[1]) }
        let bySize = detected.sorted { area($0) > area($1) }
        /// Whether the two results agree over the middle half of `face`'s box.
        func sameInside(_ face: DetectedFace) -> Bool {
            let (x0, y0, x1, y1) = (Int(face.box[0]), Int(face.box[1]), Int(face.box[2]), Int(face.box[3]))
            let (w, h) = (x1 - x0, y1 - y0)
            for y in (y0 + h / 4)..<(y1 - h / 4) {
                for x in (x0 + w / 4)..<(x1 - w / 4) where x >= 0 && y >= 0 && x < input.width && y < input.height {
                    for c in 0..<3 where two.image[x, y, c] != zero.image[x, y, c] { return false }
                }
            }
            return true
        }
        #expect(!sameInside(bySize[0]) && !sameInside(bySize[1]), "the two largest faces are restored")
        #expect(sameInside(bySize[2]) && sameInside(bySize[3]), "the two smallest faces are left as they were")
    }

    @Test(.enabled(if: Fixtures.available("realesrgan/tiny/tiny_rrdb_x2.pth")))
    func upscalerCallsBeforeEveryTileAndStopsWhenTold() throws {
        let upsampler = RealESRGANer(network: try NetworkLoader().load(RRDBNet.self, from: Fixtures.url("realesrgan/tiny/tiny_rrdb_x2.pth"), algorithm: .direct),
                                     tile: 32, tilePad: 4, prePad: 0)
        var rgba = Image(width: 70, height: 40, channels: 4, bitDepth: 8)
        for y in 0..<40 { for x in 0..<70 { for c in 0..<4 { rgba[x, y, c] = (x * 3 + y * 5 + c * 40) % 256 } } }
        var calls: [(Int, Int)] = []
        let whole = try upsampler.enhance(rgba) { calls.append(($0, $1)) }
        // 3 x 2 tiles, for the colour and then the alpha pass.
        #expect(calls.map(\.0) == Array(0..<12) && calls.allSatisfy { $0.1 == 12 })
        #expect(try whole == upsampler.enhance(rgba), "the callback changes nothing")
        struct Stop: Error {}
        var runs = 0
        #expect(throws: Stop.self) {
            _ = try upsampler.enhance(rgba) { index, _ in
                if index == 4 { throw Stop() }
                runs += 1
            }
        }
        #expect(runs == 4)
    }

    @Test func aPassedDeadlineStopsAtTheNextCheckpointWithoutATimer() throws {
        let monitor = RestorationMonitor(deadline: .now + .milliseconds(50))
        try monitor.checkpoint()
        Thread.sleep(forTimeInterval: 0.1)
        #expect(throws: RestorationError.stopped(.deadline)) { try monitor.checkpoint() }
        #expect(monitor.stopReason == .deadline)
        let asked = RestorationMonitor(deadline: .now + .milliseconds(50))
        asked.stop(.cancelled)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(asked.stopReason == .cancelled, "a stop asked before the deadline keeps its reason")
    }

    @Test func largestKeepsDetectionOrder() throws {
        func face(_ size: Float) -> DetectedFace {
            DetectedFace(box: [0, 0, size, size], score: 1, landmarks: [Float](repeating: 0, count: 10))
        }
        let faces = [face(10), face(40), face(20), face(30), face(40)]
        #expect(FaceRestorationPipeline.largest(faces, count: 2).map { $0.box[2] } == [40, 40])
        #expect(FaceRestorationPipeline.largest(faces, count: 3).map { $0.box[2] } == [40, 30, 40])
        #expect(FaceRestorationPipeline.largest(faces, count: nil).count == 5)
        #expect(FaceRestorationPipeline.largest(faces, count: 9).count == 5)
        #expect(FaceRestorationPipeline.largest(faces, count: 0).isEmpty)
    }
}

/// Lets a progress callback reach the monitor it is given to.
final class MonitorBox: @unchecked Sendable {
    var monitor: RestorationMonitor?
}
