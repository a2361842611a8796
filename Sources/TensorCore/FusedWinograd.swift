import CWinograd

/// Winograd F(4x4, 3x3) by the tensor core's own kernel (`CWinograd`), for `ConvAlgorithm.fusedWinograd`:
/// 36 multiplications per 4x4 output tile and channel pair instead of direct's 144, with the bias and
/// a leaky ReLU applied in the output transform.
///
/// oneDNN's Winograd (`ConvAlgorithm.winograd`) loses to its direct kernels on layers with few
/// outputs, such as Real-ESRGAN's dense blocks (32 outputs from 64 to 192 inputs): it cannot fuse
/// LeakyReLU and its transforms dominate. This kernel works through a dozen tiles at a time, so their
/// transformed inputs and products stay in the core's cache. It reads the weights as the state dict
/// holds them and transforms them on every call (a small fraction of the layer's time), so the layer
/// keeps its weights once instead of 4x their size.
enum FusedWinograd {
    /// Whether a layer of this geometry can run on the kernel: 3x3, stride 1, one pixel of zero
    /// padding on every side, channels in whole 16-channel blocks, and a CPU whose activations are
    /// 16-channel blocks (AVX-512, which the kernel is written for).
    static func applies(kernelSize: (height: Int, width: Int), stride: Int, padding: ConvPadding, inChannels: Int, outChannels: Int) -> Bool {
        kernelSize == (3, 3) && stride == 1 && padding == .symmetric(1) && Conv2d.fusedWinogradSupported
            && inChannels % 16 == 0 && outChannels % 16 == 0
    }

    /// The negative slope the kernel applies for `activation` (1: none), or nil for activations it
    /// does not fuse.
    static func negativeSlope(for activation: FusedActivation) -> Float? {
        switch activation {
        case .none: 1
        case .leakyReLU(let slope): slope
        case .relu, .swish: nil
        }
    }

    /// `destination = activation(conv(source) + bias)` on one image's 16-channel-blocked float32
    /// maps of `height x width` pixels; with a `residual` (a map like the output),
    /// `activation(conv(source) + bias) * outputScale + residual`, rounded in two steps.
    static func run(
        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inChannels: Int, outChannels: Int,
        source: UnsafePointer<Float>, height: Int, width: Int, destination: UnsafeMutablePointer<Float>, negativeSlope: Float,
        residual: UnsafePointer<Float>? = nil, outputScale: Float = 1
    ) throws {
        let transformed = try TensorStorage(count: 36 * inChannels * outChannels, zeroed: false,
                                            for: "Winograd weights of a \(inChannels) -> \(outChannels) convolution")
        let workers = Parallelism.workers
        let failures = try TensorStorage(count: workers)  // zeroed: one flag per worker
        let (input, output, flags) = (SharedPointer(reading: source), SharedPointer(destination), SharedPointer(failures.pointer))
        let (plain, weightsShared, biasShared) = (SharedPointer(reading: weights), SharedPointer(transformed.pointer), bias.map { SharedPointer(reading: $0) })
        let residualShared = residual.map { SharedPointer(reading: $0) }
        parallelFor(workers) { worker in
            let first = inChannels * worker / workers, end = inChannels * (worker + 1) / workers
            let status = fr_winograd4x3_transform_weights(plain.pointer, Int32(inChannels), Int32(outChannels), Int32(first), Int32(end), weightsShared.pointer)
            if status != 0 { flags.pointer[worker] = 1 }
        }
        if (0..<workers).contains(where: { failures.pointer[$0] != 0 }) {
            throw ComputeError.outOfMemory(bytes: nil, operation: "transforming the weights of a \(inChannels) -> \(outChannels) convolution")
        }
        // The workers claim groups of tiles from one counter: one slowed by another process leaves
        // more to the others instead of holding them up at the end.
        let nextGroup = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { nextGroup.deallocate() }
        nextGroup.initialize(to: 0)
        let counter = SharedPointer(nextGroup)
        parallelFor(workers) { worker in
            let status = fr_winograd4x3_run(
                input.pointer, Int32(height), Int32(width), Int32(inChannels), weightsShared.pointer, biasShared?.pointer,
                Int32(outChannels), output.pointer, negativeSlope, residualShared?.pointer, outputScale, counter.pointer)
            if status != 0 { flags.pointer[worker] = 1 }
        }
        if (0..<workers).contains(where: { failures.pointer[$0] != 0 }) {
            throw ComputeError.outOfMemory(bytes: 1728 * (inChannels + outChannels),
                                           operation: "allocating Winograd scratch for a \(inChannels) -> \(outChannels) convolution")
        }
        withExtendedLifetime(transformed) {}
    }
}
