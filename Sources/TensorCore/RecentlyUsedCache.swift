/// A dictionary that keeps only its `capacity` most recently used entries.
///
/// Primitives are built per input shape, and a service sees endless shapes (the detector's input
/// follows each photo's aspect ratio; Real-ESRGAN's edge tiles each image's size): unbounded, their
/// caches grew by about 2.6 MB per new detector shape. Not thread-safe: callers hold a lock.
struct RecentlyUsedCache<Key: Hashable, Value> {
    let capacity: Int
    private var entries: [Key: Value] = [:]
    /// Least recently used first.
    private var order: [Key] = []

    init(capacity: Int) {
        precondition(capacity > 0, "a cache needs room for one entry")
        self.capacity = capacity
    }

    var count: Int { entries.count }

    /// The value for `key`, which becomes the most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let value = entries[key] else { return nil }
        if order.last != key, let index = order.firstIndex(of: key) {
            order.remove(at: index)
            order.append(key)
        }
        return value
    }

    /// Stores `value` as the most recently used, dropping the least recently used beyond capacity.
    mutating func insert(_ value: Value, for key: Key) {
        if entries.updateValue(value, forKey: key) != nil, let index = order.firstIndex(of: key) {
            order.remove(at: index)
        }
        order.append(key)
        if order.count > capacity {
            entries[order.removeFirst()] = nil
        }
    }
}
