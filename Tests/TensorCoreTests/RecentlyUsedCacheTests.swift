import Testing
@testable import TensorCore

@Suite struct RecentlyUsedCacheTests {
    @Test func keepsTheMostRecentlyUsedEntries() throws {
        var cache = RecentlyUsedCache<String, Int>(capacity: 2)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        #expect(cache.value(for: "a") == 1)  // "b" is now the least recently used
        cache.insert(3, for: "c")
        #expect(cache.count == 2)
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == 1 && cache.value(for: "c") == 3)
        cache.insert(4, for: "a")  // replacing refreshes without growing
        #expect(cache.count == 2 && cache.value(for: "a") == 4)
    }
}
