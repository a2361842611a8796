import Testing
@testable import TensorCore

/// The cache of freed large buffers: reuse by size, remapping over the peak, never more mapped than
/// the most ever in use, given back when idle.
@Suite struct MappedBufferCacheTests {
    static let megabyte = 1 << 20

    @Test func freedBufferIsReusedForTheSameSize() throws {
        let cache = MappedBufferCache()
        let first = try #require(cache.take(4 * Self.megabyte))
        #expect(!first.reused)
        cache.give(first.buffer, bytes: 4 * Self.megabyte)
        #expect(cache.cachedByteCount == 4 * Self.megabyte)
        let second = try #require(cache.take(4 * Self.megabyte))
        #expect(second.buffer == first.buffer && second.reused)
        #expect(cache.cachedByteCount == 0)
        cache.give(second.buffer, bytes: 4 * Self.megabyte)
        cache.release()
    }

    @Test func mappedMemoryStaysWithinThePeakInUse() throws {
        let cache = MappedBufferCache()
        let small = try #require(cache.take(4 * Self.megabyte)).buffer  // peak in use: 4 MB
        cache.give(small, bytes: 4 * Self.megabyte)
        // 8 MB more would map 12 MB while at most 8 MB is ever in use: the cached 4 MB go back first.
        let large = try #require(cache.take(8 * Self.megabyte)).buffer
        #expect(cache.cachedByteCount == 0)
        cache.give(large, bytes: 8 * Self.megabyte)
        let again = try #require(cache.take(4 * Self.megabyte)).buffer  // 8 cached + 4 new > 8: the 8 MB buffer goes back
        #expect(cache.cachedByteCount == 0)
        cache.give(again, bytes: 4 * Self.megabyte)
        cache.release()
        #expect(cache.cachedByteCount == 0)
    }

    /// Over the peak, a cached buffer of another size is resized rather than unmapped: the pages it
    /// keeps (and their contents) are the same, with no new fault.
    @Test func cachedBufferOfAnotherSizeIsRemappedOverThePeak() throws {
        let cache = MappedBufferCache()
        let first = try #require(cache.take(8 * Self.megabyte))  // peak in use: 8 MB
        first.buffer.storeBytes(of: 0x5EED, as: Int.self)
        cache.give(first.buffer, bytes: 8 * Self.megabyte)
        // 4 MB more than the 8 cached would go over the peak: the 8 MB buffer shrinks to 4.
        let shrunk = try #require(cache.take(4 * Self.megabyte))
        #expect(shrunk.reused && shrunk.buffer == first.buffer)
        #expect(shrunk.buffer.load(as: Int.self) == 0x5EED)
        #expect(cache.cachedByteCount == 0)
        cache.give(shrunk.buffer, bytes: 4 * Self.megabyte)
        // 8 MB again: the 4 MB buffer grows back (moving if it must), its first 4 MB kept.
        let grown = try #require(cache.take(8 * Self.megabyte))
        #expect(grown.reused && grown.buffer.load(as: Int.self) == 0x5EED)
        grown.buffer.storeBytes(of: 1, toByteOffset: 8 * Self.megabyte - 8, as: Int.self)  // all of it is mapped
        cache.give(grown.buffer, bytes: 8 * Self.megabyte)
        #expect(cache.cachedByteCount == 8 * Self.megabyte)
        cache.release()
    }

    @Test func idleCacheIsGivenBackAfterTheDelay() async throws {
        let cache = MappedBufferCache()
        let buffer = try #require(cache.take(4 * Self.megabyte)).buffer
        cache.give(buffer, bytes: 4 * Self.megabyte)
        cache.release(whenIdleFor: .milliseconds(50))
        #expect(cache.cachedByteCount == 4 * Self.megabyte)
        let deadline = ContinuousClock.now + .seconds(30)
        while cache.cachedByteCount > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(cache.cachedByteCount == 0)
    }

    @Test func bufferTakenWithinTheDelayKeepsTheCache() async throws {
        let cache = MappedBufferCache()
        let buffer = try #require(cache.take(4 * Self.megabyte)).buffer
        cache.give(buffer, bytes: 4 * Self.megabyte)
        cache.release(whenIdleFor: .milliseconds(200))
        // The next request starts before the delay ends: its buffers are the cached ones.
        let next = try #require(cache.take(4 * Self.megabyte))
        #expect(next.reused)
        cache.give(next.buffer, bytes: 4 * Self.megabyte)
        try await Task.sleep(for: .milliseconds(600))
        #expect(cache.cachedByteCount == 4 * Self.megabyte)
        cache.release()
    }

    @Test func zeroFilledTensorsAreZeroEvenOnReusedMemory() throws {
        let shape = [1, 16, 256, 256]  // 4 MB: a cached size
        for _ in 0..<3 {
            let used = try Tensor(shape: shape, values: [Float](repeating: 1, count: shape.reduce(1, *)))
            #expect(used.data[12345] == 1)
        }
        let zeros = try Tensor(zeros: shape)
        #expect(zeros.toArray().allSatisfy { $0 == 0 })
    }

    /// Far beyond any address space (256 TiB): the system refuses the mapping, whatever its
    /// overcommit policy, and the allocation is an error the caller can handle, not a crash.
    @Test func unmappableSizeIsAnError() throws {
        let shape = [1, 16, 1 << 21, 1 << 21]
        #expect(throws: ComputeError.outOfMemory(bytes: 1 << 48, operation: "allocating tensor \(shape)")) {
            try Tensor(zeros: shape)
        }
        let cache = MappedBufferCache()
        #expect(cache.take(1 << 48) == nil)
        // The process goes on allocating.
        #expect(try Tensor(zeros: [1, 16, 256, 256]).elementCount == 1 << 20)
    }
}
