import CDNNL

/// A dense block's growing channel concatenation (`torch.cat([x, x1, x2, ...], 1)` in Real-ESRGAN's
/// residual dense blocks) held in one channel-blocked buffer: each layer reads the channels so far
/// in place and writes its output right after them, instead of a `torch.cat` per layer copying
/// every map again (four copies of 96 to 192 channels per block, on one thread).
///
/// For layers that run in bfloat16 the buffer holds bfloat16: each map is converted once, when it
/// is written, to the same values every layer reading it would otherwise convert it to itself.
package final class DenseFeatures {
    private let storage: TensorStorage
    private let elementType: Conv2d.ElementType
    private let height: Int
    private let width: Int
    /// Channels written so far.
    package private(set) var channels: Int

    /// Whether a block over `x` whose layers add `growth` channels each can keep its maps this way:
    /// one image, and every map whole channel blocks (so that each sits where a map of its own would).
    package static func supports(_ x: Tensor, growth: Int) -> Bool {
        x.rank == 4 && x.shape[0] == 1 && x.shape[1] % Conv2d.activationBlock == 0 && growth % Conv2d.activationBlock == 0
    }

    /// - Parameters:
    ///   - x: the block's input, the first channels.
    ///   - capacity: channels the block will have read at most (its last layer's inputs).
    ///   - bfloat16: keep the maps in bfloat16, for layers whose algorithm is `.bfloat16`.
    package init(_ x: Tensor, capacity: Int, bfloat16: Bool) throws {
        precondition(Self.supports(x, growth: Conv2d.activationBlock) && capacity >= x.shape[1], "dense features over \(x.shape), capacity \(capacity)")
        (height, width, channels) = (x.shape[2], x.shape[3], x.shape[1])
        elementType = bfloat16 && Conv2d.bfloat16Supported ? .bfloat16 : .float32
        storage = try TensorStorage(count: (capacity * height * width * elementType.bytes + 3) / 4, zeroed: false,
                                    for: "dense features of \(capacity) channels over \(x.shape)")
        let blocked = try x.withLayout(.channelBlocked(Conv2d.activationBlock))
        try DNNL.reorder(from: DNNL.descriptor(for: blocked), blocked.data,
                         to: DNNL.descriptor(shape: blocked.shape, layout: blocked.layout, dataType: elementType.dnnl), storage.pointer)
    }

    private var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer) }

    /// Runs `conv` on every channel so far and appends its output.
    package func append(_ conv: Conv2d, activation: FusedActivation = .none) throws {
        let end = channels + conv.outChannels
        precondition(end * height * width * elementType.bytes <= storage.count * 4, "dense features full: \(end) channels")
        try conv.run(source: base, inputShape: [1, channels, height, width], inputType: elementType,
                 destination: base + channels * height * width * elementType.bytes, outputType: elementType, activation: activation)
        channels = end
    }

    /// `conv` on every channel so far, as a float32 map of its own (the block's last layer).
    package func convolve(_ conv: Conv2d, activation: FusedActivation = .none) throws -> Tensor {
        let output = try Tensor(uninitialized: [1, conv.outChannels, height, width], layout: .channelBlocked(Conv2d.activationBlock))
        try conv.run(source: base, inputShape: [1, channels, height, width], inputType: elementType,
                 destination: UnsafeMutableRawPointer(output.data), outputType: .float32, activation: activation)
        return output
    }

    /// `conv(...) * scale + residual` on every channel so far (a residual dense block's
    /// `x5 * 0.2 + x`, rounded in the same two steps), without a pass of its own over the output
    /// where the layer can apply it as it writes.
    package func convolve(_ conv: Conv2d, scaledBy scale: Float, plus residual: Tensor) throws -> Tensor {
        let output = try Tensor(uninitialized: [1, conv.outChannels, height, width], layout: .channelBlocked(Conv2d.activationBlock))
        precondition(residual.shape == output.shape, "residual \(residual.shape) for an output of \(output.shape)")
        let blocked = try residual.withLayout(output.layout)
        try conv.run(source: base, inputShape: [1, channels, height, width], inputType: elementType,
                 destination: UnsafeMutableRawPointer(output.data), outputType: .float32, activation: .none,
                 residual: blocked.data, outputScale: scale)
        withExtendedLifetime(blocked) {}
        return output
    }
}
