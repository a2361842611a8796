import CMemory
import Foundation

/// Large tensor buffers that have been freed, kept for the next request of the same size.
///
/// A fresh mapping costs a kernel page fault and zeroing per 2 MiB on first touch, and a CodeFormer
/// pass asks for maps of a handful of sizes again and again. The cache never lets
/// mapped memory (in use plus cached) exceed the most that was ever in use at once, so the peak
/// resident size stays what it would be without it. When a new size would go over that, a cached
/// buffer of another size is remapped to it: the pages it keeps are reused as they are, where
/// unmapping it and faulting in a new mapping would pay for every page again. In a virtual machine
/// that hands freed memory back to its host that is 20-30x dearer than usual (about 2-3 s per GB
/// instead of 0.1 s), and each stage of a restoration (CodeFormer, Real-ESRGAN, ParseNet) asks for
/// sizes the one before did not.
final class MappedBufferCache: @unchecked Sendable {
    static let shared = MappedBufferCache()

    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var liveBytes = 0
    private var cachedBytes = 0
    private var highWater = 0
    /// Buffers taken so far: `release(whenIdleFor:)` gives the cache back only if none was since.
    private var takes = 0
    private let lock = NSLock()

    /// A buffer of exactly `bytes`: newly mapped (all zero) or reused (old data in it); nil when the
    /// system has no room for it even after every cached buffer was returned.
    func take(_ bytes: Int) -> (buffer: UnsafeMutableRawPointer, reused: Bool)? {
        lock.lock()
        defer { lock.unlock() }
        takes &+= 1
        if var list = free[bytes], let reused = list.popLast() {
            free[bytes] = list.isEmpty ? nil : list
            cachedBytes -= bytes
            liveBytes += bytes
            return (reused, true)
        }
        if liveBytes + cachedBytes + bytes > highWater, let buffer = remapCached(to: bytes) {
            liveBytes += bytes
            highWater = max(highWater, liveBytes + cachedBytes)
            return (buffer, true)
        }
        while liveBytes + cachedBytes + bytes > highWater, let size = free.keys.max() {
            evict(size)
        }
        var raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if raw == MAP_FAILED && cachedBytes > 0 {
            // What is cached may be what stands in the way.
            while let size = free.keys.first { evict(size) }
            raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        }
        guard let raw, raw != MAP_FAILED else { return nil }
        // Transparent huge pages where the system allows them on request: one fault per 2 MiB
        // instead of per 4 KiB, and far fewer TLB misses in the kernels (CodeFormer: -25 %).
        _ = madvise(raw, bytes, MADV_HUGEPAGE)
        liveBytes += bytes
        highWater = max(highWater, liveBytes + cachedBytes)
        return (raw, false)
    }

    /// Takes back a buffer from `take`.
    func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        liveBytes -= bytes
        cachedBytes += bytes
        free[bytes, default: []].append(buffer)
    }

    /// Returns every cached buffer to the system (at the end of a request: memory at rest).
    func release() {
        lock.withLock { evictAll() }
    }

    /// `release()` once `delay` has passed without a buffer taken (at the end of a request): a
    /// request that follows at once (a busy service, a batch) starts with the buffers the one
    /// before faulted in, about 0.8 s of a whole-photo restoration's 3 s of CodeFormer; a process
    /// left at rest still holds only what it uses.
    func release(whenIdleFor delay: Duration) {
        let mark = lock.withLock { takes }
        let (seconds, attoseconds) = delay.components
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) * 1e-18) { [self] in
            lock.withLock { if takes == mark { evictAll() } }
        }
    }

    var cachedByteCount: Int { lock.withLock { cachedBytes } }

    /// The cached buffer nearest in size (the smallest that is large enough, else the largest),
    /// resized to `bytes` after other cached buffers made room for any growth; nil when nothing is
    /// cached or the system refused (the buffer is then unmapped).
    private func remapCached(to bytes: Int) -> UnsafeMutableRawPointer? {
        guard let size = free.keys.filter({ $0 >= bytes }).min() ?? free.keys.max(),
              var list = free[size], let buffer = list.popLast() else { return nil }
        free[size] = list.isEmpty ? nil : list
        cachedBytes -= size
        while liveBytes + cachedBytes + bytes > highWater, let other = free.keys.max() {
            evict(other)
        }
        guard let resized = facerestore_remap(buffer, size, bytes) else {
            munmap(buffer, size)
            return nil
        }
        if bytes > size { _ = madvise(resized, bytes, MADV_HUGEPAGE) }
        return resized
    }

    private func evictAll() {
        while let size = free.keys.first { evict(size) }
        highWater = liveBytes
    }

    private func evict(_ size: Int) {
        guard var list = free[size], let buffer = list.popLast() else { return }
        free[size] = list.isEmpty ? nil : list
        munmap(buffer, size)
        cachedBytes -= size
    }
}
