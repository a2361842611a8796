import Foundation
import Networks
import Testing
import TensorCore
import TestSupport

/// RetinaFace post-processing against `fixtures/facelib/retinaface_postproc` (README "Tolerances":
/// priors <= 1e-7; same kept set and order, boxes / landmarks <= 1e-3 px, scores <= 1e-6).
@Suite struct RetinaFacePostProcessingTests {
    static let directory = "facelib/retinaface_postproc"

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_postproc/priors.npy")))
    func priorsMatch() throws {
        let expected = try NumpyArray(fixture: "\(Self.directory)/priors.npy")
        let priors = RetinaFacePostProcessing.priors(height: 640, width: 840)
        #expect(expected.shape == [22120, 4])
        #expect(RetinaFacePostProcessing.anchorCount(height: 640, width: 840) == 22120)
        #expect(priors.count == expected.floats.count)
        let closeness = Closeness(priors, expected.floats, absolute: 1e-7)
        print("parity priors: max abs \(closeness.maxAbs) (tolerance 1e-7)")
        #expect(closeness.isClose, "\(closeness)")
    }

    @Test(.enabled(if: Fixtures.available("facelib/retinaface_postproc/postproc.json")))
    func detectFacesRows() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(Self.directory)/postproc.json"))) as! [String: Any]
        let expectedRows = ((json["expected"] as! [String: Any])["detect_faces_rows"] as! [String: Any])["rows"] as! [[String: Any]]
        let expected = expectedRows.map { ($0["row_det_px"] as! [Double]).map(Float.init) }
        let loc = try NumpyArray(fixture: "\(Self.directory)/loc.npy").tensor
        let logits = try NumpyArray(fixture: "\(Self.directory)/conf_logits.npy").tensor
        let landmarks = try NumpyArray(fixture: "\(Self.directory)/landms.npy").tensor
        let rows = try RetinaFacePostProcessing().detections(loc: loc, confidenceLogits: logits, landmarks: landmarks, height: 640, width: 840)
        #expect(rows.count == expected.count, "\(rows.count) rows vs \(expected.count)")
        guard rows.count == expected.count else { return }
        var worstPixel: Float = 0, worstScore: Float = 0
        for (row, want) in zip(rows, expected) {
            #expect(row.count == 15)
            for k in 0..<15 where k != 4 { worstPixel = max(worstPixel, abs(row[k] - want[k])) }
            worstScore = max(worstScore, abs(row[4] - want[4]))
        }
        print("parity detect_faces rows (\(rows.count)): boxes/landmarks max abs \(worstPixel) px (tolerance 1e-3), scores max abs \(worstScore) (tolerance 1e-6)")
        #expect(worstPixel <= 1e-3)
        #expect(worstScore <= 1e-6)
    }

    @Test func nmsUsesAreasWithoutPlusOneAndStrictThreshold() throws {
        // Two 16x16 boxes shifted by 7 px: IoU 144/368 = 0.391 (kept); with "+1" it would be 0.417.
        let a: [Float] = [0, 0, 16, 16, 0.9], b: [Float] = [7, 0, 23, 16, 0.85]
        #expect(RetinaFacePostProcessing.nonMaximumSuppression([a, b], threshold: 0.4).count == 2)
        // IoU exactly 0.5 at threshold 0.5: not suppressed (strict).
        let c: [Float] = [0, 0, 10, 10, 0.9], d: [Float] = [0, 0, 10, 5, 0.8]
        #expect(RetinaFacePostProcessing.nonMaximumSuppression([c, d], threshold: 0.5).count == 2)
        #expect(RetinaFacePostProcessing.nonMaximumSuppression([c, d], threshold: 0.49).count == 1)
    }
}
