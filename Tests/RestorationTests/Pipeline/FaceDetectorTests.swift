import Foundation
import Imaging
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// The detection stage of the whole-photo path against `fixtures/facelib` (README: detector images
/// exact with OpenCV's INTER_LINEAR, +-1 for INTER_AREA; post-processing boxes/landmarks <= 1e-3 px,
/// scores <= 1e-6, same faces in the same order).
@Suite struct FaceDetectorTests {
    static func photo(_ name: String) throws -> InputPhoto {
        InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(name)"))))
    }

    static func png(_ path: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url(path))).swappingRedBlue()
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_r50/det_image.png")))
    func readImageAndDetectorResizeAreExact() throws {
        for (image, detImage, size) in [("01.jpg", "facelib/retinaface_r50/det_image.png", (672, 512)),
                                        ("04.jpg", "facelib/retinaface_mnet/det_image.png", (512, 512))] {
            let photo = try Self.photo(image)
            #expect(photo.bgr.width == size.0 && photo.bgr.height == size.1, "\(image): input_img \(photo.bgr.width)x\(photo.bgr.height)")
            #expect(!photo.isGray)
            let detector = try FaceDetector(network: NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"), algorithm: .direct))
            let (resized, scale) = detector.detectorImage(photo.bgr)
            #expect(scale == 1.25)
            let expected = try Self.png(detImage)
            #expect(resized == expected, "\(image): detector image differs from \(detImage)")
        }
    }

    @Test(.enabled(if: Fixtures.available("facelib/detect_preprocess/det_image_02.png")))
    func shrinkingUsesAreaInterpolation() throws {
        let photo = try Self.photo("02.png")
        #expect(photo.bgr.width == 1204 && photo.bgr.height == 645, "02.png keeps its size (short side >= 512)")
        #expect(photo.alpha != nil, "02.png is RGBA; the alpha plane is kept")
        let detector = try FaceDetector(network: NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"), algorithm: .direct))
        let (resized, scale) = detector.detectorImage(photo.bgr)
        #expect(abs(scale - 0.9922480620155039) < 1e-15)
        let expected = try Self.png("facelib/detect_preprocess/det_image_02.png")
        #expect(resized.width == 1194 && resized.height == 640)
        let diffs = zip(resized.pixels8, expected.pixels8).map { abs(Int($0) - Int($1)) }
        #expect(diffs.max() ?? 99 <= 1, "INTER_AREA detector image within +-1")
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_postproc/postproc.json")))
    func helperRescalesRowsAndAppliesTheEyeDistanceQuirk() throws {
        let directory = "facelib/retinaface_postproc"
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(directory)/postproc.json"))) as! [String: Any]
        let expected = json["expected"] as! [String: Any]
        let boxes = ((expected["helper_det_faces"] as! [String: Any])["rows"] as! [[Double]]).map { $0.map(Float.init) }
        let landmarks = ((expected["helper_landmarks_5"] as! [String: Any])["faces"] as! [[[Double]]]).map { $0.flatMap { $0.map(Float.init) } }
        #expect(expected["num_faces"] as? Int == boxes.count)

        let rows = try RetinaFacePostProcessing().detections(
            loc: try NumpyArray(fixture: "\(directory)/loc.npy").tensor,
            confidenceLogits: try NumpyArray(fixture: "\(directory)/conf_logits.npy").tensor,
            landmarks: try NumpyArray(fixture: "\(directory)/landms.npy").tensor, height: 640, width: 840)
        let detector = try FaceDetector(network: NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth"), algorithm: .direct))
        let faces = detector.faces(fromDetectorRows: rows, scale: 1.25)
        #expect(faces.count == boxes.count, "\(faces.count) faces vs \(boxes.count)")
        guard faces.count == boxes.count else { return }
        var worstPixel: Float = 0, worstScore: Float = 0
        for (face, (box, marks)) in zip(faces, zip(boxes, landmarks)) {
            for k in 0..<4 { worstPixel = max(worstPixel, abs(face.box[k] - box[k])) }
            for k in 0..<10 { worstPixel = max(worstPixel, abs(face.landmarks[k] - marks[k])) }
            worstScore = max(worstScore, abs(face.score - box[4]))
        }
        print("parity helper faces (\(faces.count)): max abs \(worstPixel) px (tolerance 1e-3), scores \(worstScore) (1e-6)")
        #expect(worstPixel <= 1e-3)
        #expect(worstScore <= 1e-6)
    }

    @Test func eyeDistanceIsTheHelpersQuirkNotTheTrueDistance() throws {
        // Eyes 40 px apart on one row, nose 2 px right of the right eye: the quirk measures
        // hypot(l0.y - l1.y, l1.x - l2.x) = hypot(0, -2) = 2.
        let row: [Float] = [0, 0, 100, 100, 0.9, 30, 40, 70, 40, 72, 60, 35, 80, 65, 80]
        #expect(FaceDetector.eyeDistance(row) == 2)
    }

    @Test func centerFaceIsTheOneNearestTheImageCentre() throws {
        let faces = [
            DetectedFace(box: [0, 0, 10, 10], score: 0.9, landmarks: Array(repeating: 0, count: 10)),
            DetectedFace(box: [45, 45, 55, 55], score: 0.8, landmarks: Array(repeating: 0, count: 10)),
            DetectedFace(box: [80, 80, 100, 100], score: 0.85, landmarks: Array(repeating: 0, count: 10)),
        ]
        #expect(FaceDetector.centerFaceIndex(faces, width: 100, height: 100) == 1)
        #expect(FaceDetector.centerFaceIndex([], width: 100, height: 100) == nil)
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_r50/manifest.json")))
    func resNet50OnAWholePhotoKeepsTheReferenceFaceCount() throws {
        // meta.json "end_to_end_random_weights": 76 detect_faces rows, 10 faces after the eye filter.
        let detector = try FaceDetector(network: NetworkLoader().load(RetinaFace.self, from: Fixtures.url("facelib/retinaface_r50/manifest.json"), algorithm: .direct))
        let faces = try detector.detect(in: try Self.photo("01.jpg").bgr)
        #expect(faces.count == 10)
        let center = try detector.detect(in: try Self.photo("01.jpg").bgr, onlyCenterFace: true)
        #expect(center.count == 1)
    }
}
