import Testing
import TensorCore
import TestSupport

@Suite struct TensorLayoutTests {
    @Test(arguments: [3, 16, 20, 64])
    func blockedRoundTripKeepsValues(channels: Int) throws {
        let shape = [2, channels, 5, 3]
        let values = randomValues(shape.reduce(1, *), seed: UInt64(channels))
        let t = try Tensor(shape: shape, values: values)
        #expect(try t.channelBlocked(8).toArray() == values)
        #expect(try t.withLayout(.channelBlocked(Conv2d.activationBlock)).toArray() == values)
        #expect(try t.withLayout(.channelBlocked(8)).withLayout(.contiguous).toArray() == values)
    }

    @Test func blockPaddingIsZero() throws {
        let t = try Tensor(shape: [1, 3, 2, 2], values: [Float](repeating: 1, count: 12)).channelBlocked(8)
        let stored = Array(UnsafeBufferPointer(start: t.data, count: 32))
        #expect(stored.filter { $0 == 1 }.count == 12)
        #expect(stored[3] == 0 && stored[7] == 0)
    }
}
