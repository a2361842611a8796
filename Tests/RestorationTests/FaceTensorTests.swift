import Restoration
import Testing
import TensorCore

@Suite struct FaceTensorTests {
    @Test func everyByteSurvivesTheRoundTrip() throws {
        let bgr = (0..<(16 * 16 * 3)).map { UInt8($0 % 256) }
        let tensor = try FaceTensor.tensor(fromBGR: bgr, width: 16, height: 16)
        #expect(tensor.shape == [1, 3, 16, 16])
        #expect(try FaceTensor.bgr(from: tensor) == bgr)
    }

    @Test func channelsAreRGBInTheTensor() throws {
        let tensor = try FaceTensor.tensor(fromBGR: [0, 128, 255], width: 1, height: 1)
        #expect(tensor.toArray() == [1, (Float(Double(128) / 255.0) - 0.5) / 0.5, -1])
    }

    @Test func outputsAreClampedAndRoundedHalfToEven() throws {
        // (x + 1) / 2 * 255 = 0.5 and 1.5 for these, which round to 0 and 2.
        let half = Float(0.5) / 255 * 2 - 1, oneAndHalf = Float(1.5) / 255 * 2 - 1
        let tensor = try Tensor(shape: [1, 3, 1, 2], values: [-3, 7, half, oneAndHalf, 0, 0])
        let bgr = try FaceTensor.bgr(from: tensor)
        #expect(bgr[2] == 0 && bgr[5] == 255)
        #expect(bgr[1] == UInt8((((half + 1) / 2) * 255).rounded(.toNearestOrEven)))
    }

    @Test func greyDetectionFollowsTheReference() throws {
        let grey = [UInt8](repeating: 90, count: 300)
        #expect(Grayscale.isGray(bgr: grey))
        var tinted = grey
        for i in stride(from: 0, to: tinted.count, by: 6) { tinted[i] = 200 }
        #expect(!Grayscale.isGray(bgr: tinted))
    }
}
