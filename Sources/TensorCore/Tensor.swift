import CMemory
import Foundation

/// How a tensor's elements are laid out in memory.
package enum TensorLayout: Hashable, Sendable {
    /// Plain row-major order (NCHW for 4-D tensors). Every tensor read from a file is contiguous.
    case contiguous
    /// oneDNN's `nChw{B}c` for 4-D tensors: channels in blocks of `B` (the last block zero-padded),
    /// the block innermost. Convolutions keep activations in this layout between layers.
    case channelBlocked(Int)
}

/// A float32 tensor in host memory. Shapes are logical (NCHW for images and feature maps);
/// `layout` says how the elements sit in `storage`.
///
/// The struct is a handle: copies share storage. Operations return new tensors and never write
/// into their inputs, so sharing is safe. The few that write in place (`apply(_:)`, `scale(by:)`,
/// `GroupNorm.normalize(_:)`, `Conv2d.accumulating(_:into:)`) are `mutating` or take `inout`, and
/// copy first when the storage is shared; only `data`, the raw pointer, can break the promise, and
/// it is for filling a tensor its caller has just made.
///
/// Every operation that allocates throws `ComputeError.outOfMemory` instead of ending the process.
package struct Tensor: @unchecked Sendable {
    package let shape: [Int]
    package let layout: TensorLayout
    package private(set) var storage: TensorStorage

    /// Whether this handle is the only one to its storage, so that writing over it (say, a norm in
    /// place on a map a block was handed with `consume`) cannot change anybody else's tensor.
    package mutating func isUniquelyReferenced() -> Bool {
        isKnownUniquelyReferenced(&storage)
    }

    /// Gives this handle storage of its own (a copy when it shares it), before writing in place.
    mutating func makeUnique() throws {
        if !isKnownUniquelyReferenced(&storage) { self = try copy() }
    }

    /// A zero-filled tensor.
    package init(zeros shape: [Int], layout: TensorLayout = .contiguous) throws(ComputeError) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.layout = layout
        self.storage = try TensorStorage(count: Tensor.storageCount(shape: shape, layout: layout), for: "tensor \(shape)")
    }

    /// A tensor whose storage the caller will overwrite completely (padding included); skips zeroing.
    package init(uninitialized shape: [Int], layout: TensorLayout = .contiguous) throws(ComputeError) {
        self.shape = shape
        self.layout = layout
        self.storage = try TensorStorage(count: Tensor.storageCount(shape: shape, layout: layout), zeroed: false, for: "tensor \(shape)")
    }

    /// A contiguous tensor holding `values` in row-major order.
    package init(shape: [Int], values: [Float]) throws(ComputeError) {
        try self.init(uninitialized: shape)
        precondition(values.count == elementCount, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Wraps existing storage; `storage` must be large enough for `shape` in `layout`.
    package init(shape: [Int], layout: TensorLayout = .contiguous, storage: TensorStorage) {
        precondition(storage.count >= Tensor.storageCount(shape: shape, layout: layout))
        self.shape = shape
        self.layout = layout
        self.storage = storage
    }

    /// Number of logical elements.
    package var elementCount: Int { shape.reduce(1, *) }

    package var rank: Int { shape.count }

    /// Channels per block in memory: the block size of a channel-blocked layout, 1 for contiguous
    /// NCHW (each channel a plane). Feature-map kernels treat both layouts through this number.
    package var channelBlock: Int {
        if case .channelBlocked(let block) = layout { return block }
        return 1
    }

    /// Raw pointer to the first stored element.
    package var data: UnsafeMutablePointer<Float> { storage.pointer }

    /// Number of floats the storage must hold for `shape` in `layout` (including block padding).
    package static func storageCount(shape: [Int], layout: TensorLayout) -> Int {
        switch layout {
        case .contiguous:
            return shape.reduce(1, *)
        case .channelBlocked(let block):
            precondition(shape.count == 4, "blocked layout needs a 4-D shape, got \(shape)")
            let paddedChannels = (shape[1] + block - 1) / block * block
            return shape[0] * paddedChannels * shape[2] * shape[3]
        }
    }

    /// The same elements in plain row-major order (shares storage when already contiguous).
    package func contiguous() throws -> Tensor {
        guard case .channelBlocked(let block) = layout else { return self }
        let out = try Tensor(uninitialized: shape)
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let hw = h * w
        let padded = (c + block - 1) / block * block
        for b in 0..<n {
            for ch in 0..<c {
                let src = data + (b * padded + ch / block * block) * hw + ch % block
                let dst = out.data + (b * c + ch) * hw
                for i in 0..<hw { dst[i] = src[i * block] }
            }
        }
        return out
    }

    /// The same elements in `nChw{block}c`, with zero padding in the last channel block.
    package func channelBlocked(_ block: Int) throws -> Tensor {
        if layout == .channelBlocked(block) { return self }
        let source = try contiguous()
        let out = try Tensor(zeros: shape, layout: .channelBlocked(block))
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let hw = h * w
        let padded = (c + block - 1) / block * block
        for b in 0..<n {
            for ch in 0..<c {
                let src = source.data + (b * c + ch) * hw
                let dst = out.data + (b * padded + ch / block * block) * hw + ch % block
                for i in 0..<hw { dst[i * block] = src[i] }
            }
        }
        return out
    }

    /// The elements in row-major order (a Swift array: read out at the edges, no tensor made).
    package func toArray() -> [Float] {
        guard case .channelBlocked(let block) = layout else {
            return Array(UnsafeBufferPointer(start: data, count: elementCount))
        }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let hw = h * w
        let padded = (c + block - 1) / block * block
        return [Float](unsafeUninitializedCapacity: elementCount) { buffer, initialized in
            for b in 0..<n {
                for ch in 0..<c {
                    let src = data + (b * padded + ch / block * block) * hw + ch % block
                    let dst = (b * c + ch) * hw
                    for i in 0..<hw { buffer[dst + i] = src[i * block] }
                }
            }
            initialized = elementCount
        }
    }

    /// A view with another shape of the same element count; contiguous tensors only.
    package func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(layout == .contiguous, "reshape needs a contiguous tensor")
        precondition(newShape.reduce(1, *) == elementCount, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, layout: .contiguous, storage: storage)
    }

    /// An independent copy.
    package func copy() throws(ComputeError) -> Tensor {
        let out = try Tensor(uninitialized: shape, layout: layout)
        out.data.update(from: data, count: Tensor.storageCount(shape: shape, layout: layout))
        return out
    }
}

/// 64-byte aligned float buffer owned by one or more `Tensor` handles.
package final class TensorStorage: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Float>
    package let count: Int
    /// Bytes mapped with `mmap` (large buffers), 0 for `aligned_alloc`.
    private let mappedBytes: Int

    /// Buffers of at least this many bytes are mapped directly. glibc's malloc raises its mmap
    /// threshold after each large free, so repeated large activations (Real-ESRGAN tiles) would
    /// otherwise pile up in the heap and the resident size grow with every image.
    static let mappingThreshold = 1 << 20

    /// The same for every other large buffer (Swift arrays of pixels, im2col rows): a fixed mmap
    /// threshold turns glibc's dynamic adjustment off, so freed large blocks go back to the system.
    private static let fixedMallocThreshold: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, Int32(mappingThreshold))
    }()

    /// Storage for `count` floats, zero-filled unless the caller overwrites it all; throws
    /// `ComputeError.outOfMemory` naming `purpose` when the system has no room for it.
    package init(count: Int, zeroed: Bool = true, for purpose: @autoclosure () -> String = "a tensor") throws(ComputeError) {
        _ = Self.fixedMallocThreshold
        self.count = count
        let bytes = max(64, (count * MemoryLayout<Float>.stride + 63) / 64 * 64)
        if bytes >= Self.mappingThreshold {
            guard let (raw, reused) = MappedBufferCache.shared.take(bytes) else {
                throw .outOfMemory(bytes: bytes, operation: "allocating \(purpose())")
            }
            if zeroed && reused { memset(raw, 0, bytes) }  // newly mapped pages are zero already
            mappedBytes = bytes
            pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        } else {
            guard let raw = aligned_alloc(64, bytes) else { throw .outOfMemory(bytes: bytes, operation: "allocating \(purpose())") }
            if zeroed { memset(raw, 0, bytes) }
            mappedBytes = 0
            pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        }
    }

    deinit {
        if mappedBytes > 0 { MappedBufferCache.shared.give(pointer, bytes: mappedBytes) } else { free(pointer) }
    }

    /// Returns the large buffers freed so far, kept for reuse, to the system: for the end of a
    /// request, so that a process at rest holds only what it uses. With `delay`, only once that
    /// long has passed without a new large tensor (`MappedBufferCache`).
    package static func releaseCachedBuffers(whenIdleFor delay: Duration? = nil) {
        if let delay { MappedBufferCache.shared.release(whenIdleFor: delay) } else { MappedBufferCache.shared.release() }
    }
}
