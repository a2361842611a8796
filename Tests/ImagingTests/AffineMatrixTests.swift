import Imaging
import Testing

/// The similarity estimate (OpenCV's `estimateAffinePartial2D` with LMEDS) and the bilinear warp.
@Suite struct AffineMatrixTests {
    static let template: [(x: Double, y: Double)] = [(192.98138, 239.94708), (318.90277, 240.1936), (256.63416, 314.01935),
                                                     (201.26117, 371.41043), (313.08905, 371.15118)]

    @Test func recoversAnExactSimilarity() throws {
        let truth = AffineMatrix([0.8, -0.3, 40, 0.3, 0.8, -12])
        let source = Self.template
        let destination = source.map { truth.apply(x: $0.x, y: $0.y) }
        let estimate = try #require(AffineMatrix.similarity(from: source, to: destination))
        for (a, b) in zip(estimate.m, truth.m) { #expect(abs(a - b) < 1e-4) }  // float32-rounded points
    }

    @Test func dropsAGrossOutlier() throws {
        let truth = AffineMatrix([1.2, 0.1, -5, -0.1, 1.2, 7])
        var destination = Self.template.map { truth.apply(x: $0.x, y: $0.y) }
        destination[2] = (destination[2].x + 80, destination[2].y - 60)  // a wrong nose
        let estimate = try #require(AffineMatrix.similarity(from: Self.template, to: destination))
        for (a, b) in zip(estimate.m, truth.m) { #expect(abs(a - b) < 1e-3, "LMedS must ignore the outlier: \(estimate)") }
        // Plain least squares would not.
        let naive = try #require(AffineMatrix.similarity(from: Array(Self.template.prefix(3)), to: Array(destination.prefix(3))))
        #expect(abs(naive.m[2] - truth.m[2]) > 1)
    }

    @Test func inverseUndoesTheMap() {
        let m = AffineMatrix([2.36, -0.12, -335.9, 0.12, 2.36, -217])
        let inverse = m.inverted()
        let p = m.apply(x: 233.75, y: 179.5)
        let back = inverse.apply(x: p.x, y: p.y)
        #expect(abs(back.x - 233.75) < 1e-9 && abs(back.y - 179.5) < 1e-9)
        #expect(AffineMatrix([0, 0, 1, 0, 0, 2]).inverted().m == [0, 0, 0, 0, 0, 0])
    }

    @Test func identityWarpCopiesAndOutsideTakesTheBorder() {
        let pixels: [UInt8] = [10, 20, 30, 40]  // 2x2 grey
        let same = WarpAffine.warp(pixels, width: 2, height: 2, channels: 1, transform: .identity, toWidth: 2, toHeight: 2, border: [99])
        #expect(same == pixels)
        let shifted = WarpAffine.warp(pixels, width: 2, height: 2, channels: 1, transform: AffineMatrix([1, 0, 5, 0, 1, 0]),
                                      toWidth: 2, toHeight: 2, border: [99])
        #expect(shifted == [99, 99, 99, 99])
        // Half a pixel right: the blend of 10 and 20 is 15; the right column blends 20 with the border.
        let half = WarpAffine.warp(pixels.map(Float.init), width: 2, height: 2, channels: 1, transform: AffineMatrix([1, 0, -0.5, 0, 1, 0]),
                                   toWidth: 2, toHeight: 2, border: 0)
        #expect(half == [15, 10, 35, 20])
    }
}
