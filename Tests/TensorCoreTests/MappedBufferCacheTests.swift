import Testing
@testable import TensorCore

/// The cache of freed large buffers: reuse by size, never more mapped than the most ever in use.
@Suite struct MappedBufferCacheTests {
    static let megabyte = 1 << 20

    @Test func freedBufferIsReusedForTheSameSize() {
        let cache = MappedBufferCache()
        let first = cache.take(4 * Self.megabyte)
        #expect(!first.reused)
        cache.give(first.buffer, bytes: 4 * Self.megabyte)
        #expect(cache.cachedByteCount == 4 * Self.megabyte)
        let second = cache.take(4 * Self.megabyte)
        #expect(second.buffer == first.buffer && second.reused)
        #expect(cache.cachedByteCount == 0)
        cache.give(second.buffer, bytes: 4 * Self.megabyte)
        cache.release()
    }

    @Test func mappedMemoryStaysWithinThePeakInUse() {
        let cache = MappedBufferCache()
        let small = cache.take(4 * Self.megabyte).buffer  // peak in use: 4 MB
        cache.give(small, bytes: 4 * Self.megabyte)
        // 8 MB more would map 12 MB while at most 8 MB is ever in use: the cached 4 MB go back first.
        let large = cache.take(8 * Self.megabyte).buffer
        #expect(cache.cachedByteCount == 0)
        cache.give(large, bytes: 8 * Self.megabyte)
        let again = cache.take(4 * Self.megabyte).buffer  // 8 cached + 4 new > 8: the 8 MB buffer goes back
        #expect(cache.cachedByteCount == 0)
        cache.give(again, bytes: 4 * Self.megabyte)
        cache.release()
        #expect(cache.cachedByteCount == 0)
    }

    @Test func zeroFilledTensorsAreZeroEvenOnReusedMemory() {
        let shape = [1, 16, 256, 256]  // 4 MB: a cached size
        for _ in 0..<3 {
            let used = Tensor(shape: shape, values: [Float](repeating: 1, count: shape.reduce(1, *)))
            #expect(used.data[12345] == 1)
        }
        let zeros = Tensor(zeros: shape)
        #expect(zeros.toArray().allSatisfy { $0 == 0 })
    }
}
