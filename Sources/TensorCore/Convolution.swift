import CDNNL
import Foundation

/// Zero padding around the input of a convolution, per side. PyTorch's `padding=p` is symmetric;
/// VQGAN's Downsample pads only right and bottom.
package struct ConvPadding: Hashable, Sendable {
    package var top, left, bottom, right: Int
    package init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
    package static func symmetric(_ p: Int) -> ConvPadding { ConvPadding(top: p, left: p, bottom: p, right: p) }
}

/// How a convolution computes, chosen per layer by the network.
package enum ConvAlgorithm: Hashable, Sendable {
    /// oneDNN's direct kernels on channel-blocked activations: the fastest exact algorithm. It sums
    /// over kernel positions in the outer loop and input channels in the inner one.
    case direct
    /// Winograd F(4x4, 3x3) where it pays and fits: 3x3 stride-1 layers of at most 256 x 128
    /// channels on planes of at least 64 x 64, in blocks of channels where the whole layer's
    /// transform buffers would exceed 16 MB (AVX-512 only in oneDNN 2.x); direct elsewhere. Faster
    /// than direct where chosen (README), with errors of about 1e-6 relative; its weights take 4x the memory.
    case winograd
    /// Opt-in reduced precision: oneDNN's direct kernels on bfloat16 inputs and weights, summing and
    /// writing float32 (CPUs with AVX-512 BF16; float32 direct elsewhere and for layers it has no
    /// kernel for). About 8 bits of mantissa per product: results move by ~1e-3 relative.
    case bfloat16
    /// Opt-in reduced precision for networks that run Winograd in float32: Winograd (float32) where
    /// `.winograd` would run it, which is as fast as bfloat16 there and far closer to exact, and
    /// `.bfloat16` elsewhere (each falls back as it would alone).
    case winogradOrBFloat16
    /// Winograd F(4x4, 3x3) by the tensor core's own kernel (`FusedWinograd`), bias and leaky ReLU
    /// fused: for 3x3 stride-1 layers with one pixel of padding and whole 16-channel blocks on
    /// AVX-512, where it beats both direct and `.winograd` on layers with few outputs (Real-ESRGAN's
    /// dense blocks, README). Direct elsewhere, and for fusions it lacks (a residual, other
    /// activations). Errors of about 1e-6 relative, like `.winograd`; the weights stay as they are.
    case fusedWinograd
    /// Reduced precision for networks whose float32 choice is `.fusedWinograd`: `.fusedWinograd`
    /// where it applies, which is faster than bfloat16's direct kernels on every layer shape measured
    /// and far closer to exact (README; multiplying its transformed inputs in bfloat16 cost Real-ESRGAN
    /// 10 dB), and `.bfloat16` elsewhere.
    case fusedWinogradOrBFloat16
    /// im2col + GEMM on plain NCHW activations: sums the 3x3 taps of each input channel
    /// together before moving to the next channel, as PyTorch's reference runs do. Where kernels are
    /// nearly zero-sum (high-pass), these partial sums stay small and the result is several times
    /// more accurate than the direct order, at some cost in speed. Outputs are contiguous.
    case gemm
}

extension ConvAlgorithm {
    var triesWinograd: Bool { self == .winograd || self == .winogradOrBFloat16 }
    var triesBFloat16: Bool { self == .bfloat16 || self == .winogradOrBFloat16 }

    /// The same choice in float32: for the layers of a reduced-precision network that stay exact.
    package var float32Counterpart: ConvAlgorithm {
        switch self {
        case .bfloat16: .direct
        case .winogradOrBFloat16: .winograd
        case .fusedWinogradOrBFloat16: .fusedWinograd
        default: self
        }
    }
}

/// An activation fused into a convolution's output.
package enum FusedActivation: Hashable, Sendable {
    case none
    case relu
    case leakyReLU(Float)
    case swish

    /// The same function as an element-wise pass, for where it cannot be fused; nil for none.
    var separatePass: Activation? {
        switch self {
        case .none: nil
        case .relu: .relu
        case .leakyReLU(let slope): .leakyReLU(slope)
        case .swish: .swish
        }
    }
}

/// A 2-D convolution (PyTorch `nn.Conv2d`, groups = 1) run by oneDNN.
///
/// Weights are kept once, in whatever blocked format the fastest kernel asked for; a primitive is
/// built per input shape and cached. 4-D outputs are channel-blocked (`nChw16c`); callers convert at
/// the model's edges.
package final class Conv2d: @unchecked Sendable {
    package let inChannels: Int
    package let outChannels: Int
    package let kernelSize: (height: Int, width: Int)
    package let stride: Int
    package let padding: ConvPadding
    package let algorithm: ConvAlgorithm

    private var weights: FormattedBuffer
    /// The state dict's weights, kept only for Winograd: oneDNN's Winograd weight formats are tied
    /// to a shape's tiling and cannot be reordered from one to another, and `FusedWinograd` reads them
    /// as they are.
    private let plainWeights: FormattedBuffer?
    let bias: Tensor?
    /// The plans of the shapes seen last (a network meets only a few at a time).
    private var plans = RecentlyUsedCache<PlanKey, Plan>(capacity: Conv2d.cachedPlans)
    /// Shapes oneDNN has no optimised kernel for, so the fallback is not re-probed on every call
    /// (failures for lack of memory are not kept: they may pass next time).
    private var failedPlans = RecentlyUsedCache<PlanKey, Error>(capacity: Conv2d.cachedPlans)
    /// How many input shapes a layer keeps plans for; older ones are built again when met again.
    package static let cachedPlans = 16
    private let lock = NSLock()

    /// The channel block of every activation the tensor core produces: the widest one oneDNN has
    /// optimised direct kernels for on this CPU (16 with AVX-512, 8 with AVX2), probed once. (Asked
    /// to choose freely, oneDNN 2.6 on AVX-512 prefers NHWC "brgconv" kernels, which the rest of the
    /// tensor core does not use; the blocked AVX-512 kernels are as fast.)
    package static let activationBlock: Int = {
        if let implementation = probeDirectKernel(block: 16, dataType: dnnl_f32), implementation.contains("avx512") { return 16 }
        return 8
    }()

    /// Whether this CPU runs `ConvAlgorithm.fusedWinograd` (on layers whose geometry it covers).
    package static var fusedWinogradSupported: Bool { activationBlock == 16 }

    /// Whether this CPU has oneDNN bfloat16 convolution kernels (`ConvAlgorithm.bfloat16`).
    package static let bfloat16Supported = probeDirectKernel(block: activationBlock, dataType: dnnl_bf16) != nil

    /// The optimised implementation oneDNN picks for a 64 -> 64 3x3 direct convolution on
    /// `block`-channel maps with `dataType` inputs and weights (float32 output), or nil when there
    /// is none (no descriptor, or only its `ref:` code).
    private static func probeDirectKernel(block: Int, dataType: dnnl_data_type_t) -> String? {
        let layout = TensorLayout.channelBlocked(block)
        guard var src = try? DNNL.descriptor(shape: [1, 64, 32, 32], layout: layout, dataType: dataType),
              var dst = try? DNNL.descriptor(shape: [1, 64, 32, 32], layout: layout),
              var wei = try? DNNL.descriptor([64, 64, 3, 3], dnnl_format_tag_any, dataType) else { return nil }
        var strides: [dnnl_dim_t] = [1, 1], pad: [dnnl_dim_t] = [1, 1]
        var desc = dnnl_convolution_desc_t()
        var pd: dnnl_primitive_desc_t?
        guard dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei, nil, &dst, &strides, &pad, &pad) == dnnl_success,
              dnnl_primitive_desc_create(&pd, &desc, nil, DNNL.engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        let implementation = DNNL.implementationName(pd!)
        return implementation.hasPrefix("ref") ? nil : implementation
    }

    /// Winograd's weights are 4x the size of direct ones and are kept per input shape: CodeFormer's
    /// 256 x 256-channel layers would add 150 MB for little time saved.
    static let winogradMaximumChannelProduct = 256 * 128
    /// Output planes smaller than this run direct even in Winograd layers: the transforms dominate.
    static let winogradMinimumPlane = 64 * 64
    /// Winograd layers whose transform buffers would exceed this run in blocks of channels (see
    /// `Plan`), or direct when no blocks fit. oneDNN stores a wide layer's whole transformed input
    /// and output (584 MB at 128 channels on 512 x 512), a narrow one's in about 8 MB.
    static let winogradMaximumScratchpad = 16 << 20

    /// - Parameters:
    ///   - weight: `(out, in, kh, kw)` as in the state dict.
    ///   - bias: `(out)` or nil.
    package init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: ConvPadding, algorithm: ConvAlgorithm = .direct) throws {
        precondition(weight.rank == 4, "conv weight must be 4-D, got \(weight.shape)")
        let plain = try weight.contiguous()
        outChannels = plain.shape[0]
        inChannels = plain.shape[1]
        kernelSize = (plain.shape[2], plain.shape[3])
        self.stride = stride
        self.padding = padding
        let winogradApplies = kernelSize == (3, 3) && stride == 1 && inChannels * outChannels <= Conv2d.winogradMaximumChannelProduct
        let fusedWinogradApplies = FusedWinograd.applies(kernelSize: kernelSize, stride: stride, padding: padding,
                                                         inChannels: inChannels, outChannels: outChannels)
        switch algorithm {
        case .winograd where !winogradApplies, .fusedWinograd where !fusedWinogradApplies, .bfloat16 where !Conv2d.bfloat16Supported:
            self.algorithm = .direct
        case .winogradOrBFloat16 where !winogradApplies: self.algorithm = Conv2d.bfloat16Supported ? .bfloat16 : .direct
        case .winogradOrBFloat16 where !Conv2d.bfloat16Supported: self.algorithm = .winograd
        case .fusedWinogradOrBFloat16: self.algorithm = fusedWinogradApplies ? .fusedWinograd : Conv2d.bfloat16Supported ? .bfloat16 : .direct
        default: self.algorithm = algorithm
        }
        weights = FormattedBuffer(descriptor: DNNL.parameterDescriptor(plain.shape, dnnl_oihw), storage: plain.storage)
        plainWeights = self.algorithm.triesWinograd || self.algorithm == .fusedWinograd ? weights : nil
        if let bias { precondition(bias.shape == [outChannels], "conv bias \(bias.shape) for \(outChannels) outputs") }
        self.bias = try bias?.contiguous()
    }

    package convenience init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int, algorithm: ConvAlgorithm = .direct) throws {
        try self.init(weight: weight, bias: bias, stride: stride, padding: .symmetric(padding), algorithm: algorithm)
    }

    /// `activation(conv(x) + bias) + residualScale * residual`. Throws `ComputeError` when oneDNN
    /// cannot build or run the layer for this shape, or memory runs out.
    package func callAsFunction(
        _ x: Tensor, activation: FusedActivation = .none, residual: Tensor? = nil, residualScale: Float = 1
    ) throws -> Tensor {
        var residual = residual
        return try forward(x, activation: activation, residual: &residual, residualScale: residualScale)
    }

    /// `conv(x) + bias + residual`, written into `residual`'s storage when this is its only handle
    /// and its layout allows (saving a copy of a whole feature map); hand it over with `consume`.
    /// A residual shared with another handle is copied first, so that handle keeps its values.
    package func accumulating(_ x: Tensor, into residual: consuming Tensor) throws -> Tensor {
        var owned: Tensor? = consume residual
        return try forward(x, activation: .none, residual: &owned, residualScale: 1)
    }

    /// `residual` is taken over: its storage is written when no other handle shares it.
    private func forward(
        _ x: Tensor, activation: FusedActivation, residual: inout Tensor?, residualScale: Float
    ) throws -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "conv expects \(inChannels) input channels, got \(x.shape)")
        var input: Tensor
        if algorithm == .gemm {
            input = try x.withLayout(.contiguous)
        } else {
            input = x.layout == .contiguous && inChannels >= Conv2d.activationBlock ? try x.withLayout(.channelBlocked(Conv2d.activationBlock)) : x
        }
        if algorithm == .gemm {
            return try im2col(input, activation: activation, residual: &residual, residualScale: residualScale)
        }
        if algorithm == .fusedWinograd, residual == nil, let slope = FusedWinograd.negativeSlope(for: activation),
           input.layout == .channelBlocked(Conv2d.activationBlock) {
            return try fusedWinograd(input, negativeSlope: slope)
        }
        let (plan, planInput) = try plan(for: input, activation: activation, hasResidual: residual != nil)
        input = planInput
        let output: Tensor
        if var given = residual.take() {
            precondition(given.shape == plan.outputShape, "residual \(given.shape) vs conv output \(plan.outputShape)")
            if given.layout != plan.outputLayout { given = try given.withLayout(plan.outputLayout) }
            // The sum is written over the residual: it must be this call's alone.
            try given.makeUnique()
            // oneDNN's AVX2 kernels only fuse an unscaled sum: scale the output buffer instead.
            try given.scale(by: residualScale)
            output = given
        } else {
            output = try Tensor(uninitialized: plan.outputShape, layout: plan.outputLayout)
        }
        FlopCounter.add(flops(height: input.shape[2], width: input.shape[3]) * Double(input.shape[0]))
        try plan.run(source: UnsafeMutableRawPointer(input.data), destination: UnsafeMutableRawPointer(output.data), bias: bias)
        withExtendedLifetime(input) {}
        return try output.withLayout(.channelBlocked(Conv2d.activationBlock))
    }

    /// The plan for `input` (and the input in the layout it takes). oneDNN's AVX-512 kernels skip
    /// some small channel counts (e.g. 8 -> 8) that its AVX2 kernels cover: such layers run on
    /// 8-channel blocks and their outputs are converted back.
    private func plan(for input: Tensor, activation: FusedActivation, hasResidual: Bool) throws -> (Plan, Tensor) {
        let key = PlanKey(shape: input.shape, layout: input.layout, activation: activation, hasResidual: hasResidual,
                          outputBlock: Conv2d.activationBlock)
        do {
            return (try plan(for: key), input)
        } catch ComputeError.referenceFallback where Conv2d.activationBlock != 8 {
            let narrow = try input.withLayout(inChannels >= 8 ? .channelBlocked(8) : .contiguous)
            let fallback = PlanKey(shape: narrow.shape, layout: narrow.layout, activation: activation, hasResidual: hasResidual, outputBlock: 8)
            return (try plan(for: fallback), narrow)
        }
    }

    /// `FusedWinograd` on each image of a channel-blocked input.
    private func fusedWinograd(_ input: Tensor, negativeSlope: Float) throws -> Tensor {
        let (n, height, width) = (input.shape[0], input.shape[2], input.shape[3])
        let output = try Tensor(uninitialized: [n, outChannels, height, width], layout: .channelBlocked(Conv2d.activationBlock))
        let (inputImage, outputImage) = (inChannels * height * width, outChannels * height * width)
        for image in 0..<n {
            try fusedWinograd(source: input.data + image * inputImage, height: height, width: width,
                              destination: output.data + image * outputImage, negativeSlope: negativeSlope)
        }
        withExtendedLifetime(input) {}
        return output
    }

    /// `FusedWinograd` on one image's channel-blocked float32 map.
    private func fusedWinograd(source: UnsafePointer<Float>, height: Int, width: Int, destination: UnsafeMutablePointer<Float>,
                               negativeSlope: Float, residual: UnsafePointer<Float>? = nil, outputScale: Float = 1) throws {
        FlopCounter.add(flops(height: height, width: width))
        try FusedWinograd.run(
            weights: plainWeights!.storage.pointer, bias: bias?.data, inChannels: inChannels, outChannels: outChannels,
            source: source, height: height, width: width, destination: destination, negativeSlope: negativeSlope,
            residual: residual, outputScale: outputScale)
    }

    private func im2col(_ input: Tensor, activation: FusedActivation, residual: inout Tensor?, residualScale: Float) throws -> Tensor {
        precondition(activation == .none || residual == nil, "im2col convolution fuses an activation or a residual, not both")
        let out = outputSize(height: input.shape[2], width: input.shape[3])
        let shape = [input.shape[0], outChannels, out.height, out.width]
        var output: Tensor
        let accumulate = residual != nil
        if let given = residual.take() {
            precondition(given.shape == shape, "residual \(given.shape) vs conv output \(shape)")
            output = try given.withLayout(.contiguous).copy()
            try output.scale(by: residualScale)
        } else {
            output = try Tensor(uninitialized: shape)
        }
        // FLOPs are counted by the GEMMs.
        let kernel = Im2colConvolution(
            inChannels: inChannels, outChannels: outChannels, kernel: kernelSize, stride: stride, padding: padding,
            weights: weights.storage.pointer, bias: bias?.data)
        try kernel.run(input: input, output: output, accumulate: accumulate)
        if let pass = activation.separatePass { try output.apply(pass) }
        return output
    }

    /// Output spatial size for an input of `height x width`.
    package func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + padding.top + padding.bottom - kernelSize.height) / stride + 1,
         (width + padding.left + padding.right - kernelSize.width) / stride + 1)
    }

    /// The oneDNN implementation serving an input of this shape with the given fusions (for
    /// diagnostics and the `ref:` check), e.g. `jit_wino_4x3:avx512_core in 2 x 1 channel blocks`.
    package func implementation(forInputShape shape: [Int], activation: FusedActivation = .none, residual: Bool = false) throws -> String {
        if algorithm == .fusedWinograd, !residual, FusedWinograd.negativeSlope(for: activation) != nil {
            return "fused_wino_4x3:avx512 (the tensor core's own)"
        }
        let layout: TensorLayout = inChannels >= Conv2d.activationBlock && algorithm != .gemm ? .channelBlocked(Conv2d.activationBlock) : .contiguous
        let plan = try plan(for: PlanKey(shape: shape, layout: layout, activation: activation, hasResidual: residual, outputBlock: Conv2d.activationBlock))
        var description = plan.implementation
        if plan.parts.count > 1 { description += " in \(plan.outputBlocks) x \(plan.inputBlocks) channel blocks" }
        if plan.separateActivation != .none { description += ", activation separate" }
        return description
    }

    /// Multiply-adds x 2 for one input of `height x width`.
    package func flops(height: Int, width: Int) -> Double {
        let out = outputSize(height: height, width: width)
        return 2.0 * Double(out.height * out.width * outChannels * inChannels * kernelSize.height * kernelSize.width)
    }

    private func plan(for key: PlanKey) throws -> Plan {
        lock.lock()
        defer { lock.unlock() }
        if let plan = plans.value(for: key) { return plan }
        if let error = failedPlans.value(for: key) { throw error }
        let plan: Plan
        do {
            plan = try Plan(conv: self, key: key, weights: plainWeights ?? weights)
        } catch {
            if !((error as? ComputeError)?.isResourceExhaustion ?? false) { failedPlans.insert(error, for: key) }
            throw error
        }
        // Keep a single copy of the weights: in the format the newest plan uses.
        weights = plan.weights ?? weights
        plans.insert(plan, for: key)
        return plan
    }

    struct PlanKey: Hashable {
        let shape: [Int]
        let layout: TensorLayout
        let activation: FusedActivation
        let hasResidual: Bool
        /// Channel block of the output (the tensor core's, or 8 for the AVX2 fallback).
        let outputBlock: Int
        /// What the caller's input and output buffers hold (float32 but for `DenseFeatures`'
        /// bfloat16 buffers).
        var inputType = ElementType.float32
        var outputType = ElementType.float32
    }

    /// The element type of a feature-map buffer a convolution reads or writes.
    enum ElementType: Hashable {
        case float32, bfloat16

        var dnnl: dnnl_data_type_t { self == .float32 ? dnnl_f32 : dnnl_bf16 }
        var bytes: Int { self == .float32 ? 4 : 2 }
    }

    /// Runs the layer on a one-image channel-blocked map at `source` (`inputShape`, elements of
    /// `inputType`) and writes its output as `outputType` at `destination`: for `DenseFeatures`,
    /// whose buffers hold a block's maps side by side. With a `residual` (a float32 map laid out like
    /// the output, which is then float32 too) the output is `activation(conv + bias) * outputScale +
    /// residual`, rounded in two steps: fused into the layer where it runs `FusedWinograd`, else a
    /// pass after it.
    func run(source: UnsafeMutableRawPointer, inputShape: [Int], inputType: ElementType,
             destination: UnsafeMutableRawPointer, outputType: ElementType, activation: FusedActivation,
             residual: UnsafePointer<Float>? = nil, outputScale: Float = 1) throws {
        precondition(residual == nil || outputType == .float32, "a residual added to a \(outputType) output")
        precondition(inputShape.count == 4 && inputShape[0] == 1 && inputShape[1] == inChannels && algorithm != .gemm,
                     "conv of \(inChannels) channels on a dense map \(inputShape)")
        var key = PlanKey(shape: inputShape, layout: .channelBlocked(Conv2d.activationBlock), activation: activation,
                          hasResidual: false, outputBlock: Conv2d.activationBlock)
        key.inputType = inputType
        key.outputType = outputType
        if algorithm == .fusedWinograd, inputType == .float32, outputType == .float32,
           let slope = FusedWinograd.negativeSlope(for: activation) {
            return try fusedWinograd(source: source.assumingMemoryBound(to: Float.self), height: inputShape[2], width: inputShape[3],
                                     destination: destination.assumingMemoryBound(to: Float.self), negativeSlope: slope,
                                     residual: residual, outputScale: outputScale)
        }
        FlopCounter.add(flops(height: inputShape[2], width: inputShape[3]))
        try plan(for: key).run(source: source, destination: destination, bias: bias)
        if let residual {
            Tensor.scaleAndAdd(destination.assumingMemoryBound(to: Float.self), count: outChannels * inputShape[2] * inputShape[3],
                               scale: outputScale, residual: residual)
        }
    }
}
