import Foundation
import Imaging
import Testing

/// OpenCV semantics of `erode` and `GaussianBlur` that paste-back's masks depend on.
@Suite struct PlaneFiltersTests {
    @Test func evenErosionWindowsReachFurtherUpAndLeft() {
        // A single zero at (3, 3) in a 7x7 plane of ones, eroded with a 2x2 window anchored at (1, 1):
        // pixel (x, y) sees [x-1, x] x [y-1, y], so the zero spreads to (3..4, 3..4).
        var plane = [Float](repeating: 1, count: 49)
        plane[3 * 7 + 3] = 0
        let eroded = PlaneFilters.eroded(plane, width: 7, height: 7, size: 2)
        let zeros = (0..<49).filter { eroded[$0] == 0 }.map { ($0 % 7, $0 / 7) }
        #expect(zeros.map { "\($0.0),\($0.1)" } == ["3,3", "4,3", "3,4", "4,4"])
    }

    @Test func erosionIgnoresOutsideAndEmptyKernelIsThreeByThree() {
        let plane: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 0.5]  // 3x3, corner (2, 2) = 0.5
        // Outside pixels do not count as 0: the border row stays 1 where no inside pixel is smaller.
        let e2 = PlaneFilters.eroded(plane, width: 3, height: 3, size: 2)
        #expect(e2 == [1, 1, 1, 1, 1, 1, 1, 1, 0.5])
        let e0 = PlaneFilters.eroded(plane, width: 3, height: 3, size: 0)  // OpenCV: empty kernel -> 3x3
        #expect(e0 == [1, 1, 1, 1, 0.5, 0.5, 1, 0.5, 0.5])
    }

    @Test func gaussianKernelsFollowOpenCV() {
        let k3: [Float] = PlaneFilters.gaussianKernel(size: 3, sigma: 0)
        #expect(k3 == [0.25, 0.5, 0.25])
        let k7: [Double] = PlaneFilters.gaussianKernel(size: 7, sigma: 0)
        #expect(k7 == [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125])
        // k = 21, sigma 0 -> 0.3 * (10 - 1) + 0.8 = 3.5; symmetric, sums to 1.
        let k21: [Double] = PlaneFilters.gaussianKernel(size: 21, sigma: 0)
        #expect(abs(k21.reduce(0, +) - 1) < 1e-12)
        #expect(abs(k21[10] / k21[11] - exp(0.5 / (3.5 * 3.5))) < 1e-12)
        #expect(k21[0] == k21[20])
    }

    @Test func blurUsesReflect101Borders() {
        // 1-D check through a 1-row plane: kernel (1/4, 1/2, 1/4); reflect-101 mirrors without
        // repeating the edge, so the first output is 0.5 * a + 0.25 * b + 0.25 * b.
        let row: [Double] = [4, 8, 0, 0]
        let out = PlaneFilters.gaussianBlurred(row, width: 4, height: 1, size: 3, sigma: 0)
        #expect(out == [6, 5, 2, 0])
        #expect(PlaneFilters.reflect101(-1, 4) == 1 && PlaneFilters.reflect101(4, 4) == 2 && PlaneFilters.reflect101(-5, 4) == 1)
    }
}
