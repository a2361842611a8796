import Foundation
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// The paste-back face mask against `fixtures/facelib/parsenet/mask_blurred.npy` (README: from the
/// reference labels <= 1e-6; from our own labels <= 5e-3, one flipped pixel moves it by <= 7e-4).
@Suite(.serialized) struct ParseMaskTests {
    static let directory = "facelib/parsenet"

    @Test(.enabled(if: Fixtures.available("facelib/parsenet/mask_blurred.npy")))
    func maskFromReferenceLabels() throws {
        let labels = try NumpyArray(fixture: "\(Self.directory)/argmax.npy")
        let expected = try NumpyArray(fixture: "\(Self.directory)/mask_blurred.npy")
        let start = ContinuousClock.now
        let mask = ParseMask.faceMask(labels: labels.ints, height: 512, width: 512)
        print("timing face mask 512x512: \(ContinuousClock.now - start)")
        let closeness = Closeness(mask.map(Float.init), expected.floats, absolute: 1e-6)
        print("parity mask_blurred from reference argmax: max abs \(closeness.maxAbs) (tolerance 1e-6), mean abs \(closeness.meanAbs)")
        #expect(closeness.isClose, "\(closeness)")
        #expect(mask.allSatisfy { (0...1).contains($0) })
    }

    @Test(.enabled(if: Fixtures.available("facelib/parsenet/manifest.json")))
    func maskFromOwnParse() throws {
        let parser = try NetworkLoader().load(ParseNet.self, from: Fixtures.url("\(Self.directory)/manifest.json"), algorithm: .direct)
        let input = try NumpyArray(fixture: "\(Self.directory)/input.npy")
        // Rebuild the BGR face the reference fed in from its normalised RGB input (exact: k/255 steps).
        var bgr = [Double](repeating: 0, count: 512 * 512 * 3)
        let plane = 512 * 512
        for i in 0..<plane {
            for c in 0..<3 { bgr[3 * i + (2 - c)] = (Double(input.floats[c * plane + i]) * 0.5 + 0.5) * 255 }
        }
        bgr = bgr.map { $0.rounded() }
        let tensor = try ParseMask.networkInput(bgr: bgr, width: 512, height: 512)
        #expect(Closeness(tensor.toArray(), input.floats, absolute: 0).isClose, "ParseNet input preprocessing")
        let mask = try ParseMask.faceMask(parser: parser, bgr: bgr, width: 512, height: 512)
        let expected = try NumpyArray(fixture: "\(Self.directory)/mask_blurred.npy")
        let closeness = Closeness(mask.map(Float.init), expected.floats, absolute: 5e-3)
        print("parity mask_blurred from own ParseNet: max abs \(closeness.maxAbs) (tolerance 5e-3)")
        #expect(closeness.isClose, "\(closeness)")
    }
}
