import CDNNL
import Foundation

extension Conv2d {
    /// How a layer runs on one input shape: one oneDNN primitive, or, for a Winograd layer whose
    /// whole-plane transform buffers would be too large, one primitive per block of output and
    /// input channels.
    ///
    /// oneDNN 2.x transforms a wide layer's whole input and output at once (152 MB for 128 -> 128
    /// channels on 256 x 256, 584 MB on 512 x 512) but streams narrower ones through small buffers
    /// (about 8 MB for 128 -> 64). Blocks of channels are contiguous in a one-image channel-blocked
    /// map, so the blocks run in place: output blocks side by side, input blocks summed into their
    /// output block (bias on the first, the activation on the last). Together the blocks take about
    /// half the time of a direct convolution.
    final class Plan: @unchecked Sendable {
        /// One primitive and where it reads and writes, as float offsets into the input, output and bias.
        struct Part {
            let primitive: DNNLPrimitive
            let weights: FormattedBuffer
            let sourceDescriptor: dnnl_memory_desc_t
            let destinationDescriptor: dnnl_memory_desc_t
            let biasDescriptor: dnnl_memory_desc_t
            let sourceOffset: Int
            let destinationOffset: Int
            /// nil for a part that adds to the sum an earlier part of its output block started.
            let biasOffset: Int?
        }

        let parts: [Part]
        /// How the channels are cut: `outputBlocks x inputBlocks` parts (1 x 1: the whole layer).
        let outputBlocks: Int
        let inputBlocks: Int
        /// The input as the caller holds it; converted to the single part's source format when
        /// they differ (float32 to bfloat16, or back where a layer has no bfloat16 kernel).
        let inputDescriptor: dnnl_memory_desc_t
        let convertsInput: Bool
        let inputShape: [Int]
        let outputShape: [Int]
        let outputLayout: TensorLayout
        let implementation: String
        /// An activation oneDNN's Winograd kernels cannot fuse (leaky ReLU), applied in a pass of its own.
        let separateActivation: FusedActivation

        /// The layer's weights in the format of a single-part plan (nil when split in blocks).
        var weights: FormattedBuffer? { parts.count == 1 ? parts[0].weights : nil }

        /// Channel blocks (output, input) tried in turn for a Winograd layer: fewest parts first,
        /// output blocks before input blocks (which re-read and re-write the output).
        static let winogradBlockings = [(1, 1), (2, 1), (1, 2), (4, 1), (2, 2), (1, 4), (8, 1), (4, 2), (2, 4), (4, 4)]

        init(conv: Conv2d, key: PlanKey, weights source: FormattedBuffer) throws {
            let (n, h, w) = (key.shape[0], key.shape[2], key.shape[3])
            let out = conv.outputSize(height: h, width: w)
            inputShape = key.shape
            outputShape = [n, conv.outChannels, out.height, out.width]
            outputLayout = conv.algorithm == .gemm ? .contiguous : .channelBlocked(key.outputBlock)
            inputDescriptor = try DNNL.descriptor(shape: key.shape, layout: key.layout, dataType: key.inputType.dnnl)
            let operation = "convolution \(key.shape) -> \(outputShape)"

            var winograd: (parts: [Part], outputBlocks: Int, inputBlocks: Int)?
            var separateActivation = FusedActivation.none
            // Winograd's channel blocks read and write float32 maps in place.
            let float32Maps = key.inputType == .float32 && key.outputType == .float32
            if conv.algorithm.triesWinograd && float32Maps && out.height * out.width >= Conv2d.winogradMinimumPlane {
                winograd = try Self.winogradParts(conv: conv, key: key, activation: key.activation, outputLayout: outputLayout, weights: source)
                // Half the time of a direct convolution pays for one more pass over the output.
                if winograd == nil && key.activation != .none && !key.hasResidual {
                    winograd = try Self.winogradParts(conv: conv, key: key, activation: .none, outputLayout: outputLayout, weights: source)
                    if winograd != nil { separateActivation = key.activation }
                }
            }
            self.separateActivation = separateActivation
            (outputBlocks, inputBlocks) = (winograd?.outputBlocks ?? 1, winograd?.inputBlocks ?? 1)
            var parts = winograd?.parts
            if parts == nil {
                let bfloat16 = conv.algorithm.triesBFloat16
                let layer = Blocking(conv: conv, key: key, activation: key.activation, outputLayout: outputLayout, outputBlocks: 1, inputBlocks: 1)
                var pd = try layer.primitiveDescriptor(dnnl_convolution_direct, bfloat16 ? dnnl_bf16 : dnnl_f32, output: 0, input: 0)
                // bfloat16 for shapes or post-ops its kernels lack would run oneDNN's reference
                // code: such layers run float32.
                if bfloat16, let created = pd, DNNL.implementationName(created).hasPrefix("ref") {
                    dnnl_primitive_desc_destroy(created)
                    pd = nil
                }
                if pd == nil { pd = try layer.primitiveDescriptor(dnnl_convolution_direct, dnnl_f32, output: 0, input: 0) }
                guard let pd else {
                    throw ComputeError.primitiveCreation(operation: "\(operation) descriptor", shape: key.shape, status: Int(dnnl_unimplemented.rawValue))
                }
                defer { dnnl_primitive_desc_destroy(pd) }
                parts = [try layer.part(pd, weights: source.reordered(to: DNNL.queryDescriptor(pd, dnnl_query_weights_md)), output: 0, input: 0)]
            }
            self.parts = parts!
            implementation = self.parts[0].primitive.implementation
            if implementation.hasPrefix("ref") {
                throw ComputeError.referenceFallback(operation: operation, implementation: implementation)
            }
            if conv.algorithm == .gemm && !implementation.contains("gemm") {
                throw ComputeError.unexpectedImplementation(operation: "im2col \(operation)", implementation: implementation)
            }
            // Blocks read the input in place: they are cut from float32 maps in the layout given.
            convertsInput = self.parts.count == 1 && !DNNL.sameFormat(self.parts[0].sourceDescriptor, inputDescriptor)
        }

        /// Winograd primitives for the layer, whole or in the fewest channel blocks whose transform
        /// buffers fit, or nil when oneDNN has no Winograd kernel for it (direct runs instead).
        private static func winogradParts(
            conv: Conv2d, key: PlanKey, activation: FusedActivation, outputLayout: TensorLayout, weights source: FormattedBuffer
        ) throws -> (parts: [Part], outputBlocks: Int, inputBlocks: Int)? {
            for (outputBlocks, inputBlocks) in winogradBlockings {
                let split = outputBlocks * inputBlocks > 1
                // Blocks must be whole channel blocks (of 16, the widest layout) of a single image,
                // and an activation can only follow the sum of input blocks when no residual is
                // added after it.
                guard !split || key.shape[0] == 1,
                      outputBlocks == 1 || conv.outChannels % (outputBlocks * 16) == 0,
                      inputBlocks == 1 || conv.inChannels % (inputBlocks * 16) == 0,
                      inputBlocks == 1 || activation == .none || !key.hasResidual else { continue }
                let blocking = Blocking(
                    conv: conv, key: key, activation: activation, outputLayout: outputLayout, outputBlocks: outputBlocks, inputBlocks: inputBlocks)
                var descriptors: [dnnl_primitive_desc_t] = []
                defer { descriptors.forEach { dnnl_primitive_desc_destroy($0) } }
                // The parts of one output block differ only in their post-ops; every output block is alike.
                for input in 0..<inputBlocks {
                    guard let pd = try blocking.primitiveDescriptor(dnnl_convolution_winograd, dnnl_f32, output: 0, input: input) else { break }
                    // oneDNN's reference code (for the whole layer: no Winograd kernel for this CPU
                    // or these post-ops at all) or transform buffers over the limit.
                    if DNNL.implementationName(pd).hasPrefix("ref") {
                        dnnl_primitive_desc_destroy(pd)
                        if !split { return nil }
                        break
                    }
                    guard DNNL.size(of: DNNL.queryDescriptor(pd, dnnl_query_scratchpad_md)) <= Conv2d.winogradMaximumScratchpad else {
                        dnnl_primitive_desc_destroy(pd)
                        break
                    }
                    descriptors.append(pd)
                }
                guard descriptors.count == inputBlocks else { continue }
                var parts: [Part] = []
                for output in 0..<outputBlocks {
                    for input in 0..<inputBlocks {
                        let pd = descriptors[input]
                        let target = DNNL.queryDescriptor(pd, dnnl_query_weights_md)
                        let weights = split ? try blocking.weights(from: source, output: output, input: input).reordered(to: target)
                                            : try source.reordered(to: target)
                        parts.append(try blocking.part(pd, weights: weights, output: output, input: input))
                    }
                }
                return (parts, outputBlocks, inputBlocks)
            }
            return nil
        }

        /// Runs every part on the caller's input at `source` and output at `destination` (float
        /// offsets apply only to Winograd's channel blocks, which are float32).
        func run(source input: UnsafeMutableRawPointer, destination output: UnsafeMutableRawPointer, bias: Tensor?) throws {
            var converted: TensorStorage?
            if convertsInput {
                converted = try TensorStorage(count: (DNNL.size(of: parts[0].sourceDescriptor) + 3) / 4, zeroed: false, for: "converted input of a convolution")
                try DNNL.reorder(from: inputDescriptor, input, to: parts[0].sourceDescriptor, converted!.pointer)
            }
            let source = converted.map { UnsafeMutableRawPointer($0.pointer) } ?? input
            let float = MemoryLayout<Float>.stride
            for part in parts {
                let src = try DNNL.memory(part.sourceDescriptor, source + part.sourceOffset * float)
                defer { dnnl_memory_destroy(src) }
                let wei = try DNNL.memory(part.weights.descriptor, part.weights.storage.pointer)
                defer { dnnl_memory_destroy(wei) }
                let dst = try DNNL.memory(part.destinationDescriptor, output + part.destinationOffset * float)
                defer { dnnl_memory_destroy(dst) }
                var args: [(Int32, dnnl_memory_t)] = [(DNNL_ARG_SRC, src), (DNNL_ARG_WEIGHTS, wei), (DNNL_ARG_DST, dst)]
                var biasMemory: dnnl_memory_t?
                if let bias, let offset = part.biasOffset {
                    biasMemory = try DNNL.memory(part.biasDescriptor, bias.data + offset)
                    args.append((DNNL_ARG_BIAS, biasMemory!))
                }
                defer { if let biasMemory { dnnl_memory_destroy(biasMemory) } }
                try withExtendedLifetime(converted) { try part.primitive.execute(args, "convolution", shape: inputShape) }
            }
            if let pass = separateActivation.separatePass {
                try EltwiseCache.shared.run(pass, on: output.assumingMemoryBound(to: Float.self),
                                        count: Tensor.storageCount(shape: outputShape, layout: outputLayout))
            }
        }
    }

    /// A layer cut into `outputBlocks x inputBlocks` equal blocks of channels (1 x 1: the whole
    /// layer), and the oneDNN descriptions of one block.
    struct Blocking {
        let conv: Conv2d
        let key: PlanKey
        /// The activation fused into the last input block (the key's, or none when applied separately).
        let activation: FusedActivation
        let outputLayout: TensorLayout
        let outputBlocks: Int
        let inputBlocks: Int

        var outputChannels: Int { conv.outChannels / outputBlocks }
        var inputChannels: Int { conv.inChannels / inputBlocks }

        /// The descriptor of the block reading input block `input` into output block `output`:
        /// bias on the first input block, the residual sum on the first when the layer has one and
        /// on every later block, the activation on the last. nil when oneDNN has no kernel at all;
        /// throws when it refuses the shapes themselves or runs out of memory.
        func primitiveDescriptor(_ algorithm: dnnl_alg_kind_t, _ dataType: dnnl_data_type_t, output: Int, input: Int) throws -> dnnl_primitive_desc_t? {
            let (n, h, w) = (key.shape[0], key.shape[2], key.shape[3])
            let out = conv.outputSize(height: h, width: w)
            let outputShape = [n, outputChannels, out.height, out.width]
            var src, dst, wei: dnnl_memory_desc_t
            do {
                src = try DNNL.descriptor(shape: [n, inputChannels, h, w], layout: key.layout, dataType: dataType)
                dst = try DNNL.descriptor(shape: outputShape, layout: outputLayout, dataType: key.outputType.dnnl)
                wei = try DNNL.descriptor([outputChannels, inputChannels, conv.kernelSize.height, conv.kernelSize.width], dnnl_format_tag_any, dataType)
            } catch ComputeError.primitiveCreation(_, let dims, let status) {
                // Name the layer and its input, not only the dimensions oneDNN refused (say, an empty output).
                throw ComputeError.primitiveCreation(operation: "convolution to \(outputShape) (oneDNN refused \(dims))", shape: key.shape, status: status)
            }
            var bia = DNNL.parameterDescriptor([outputChannels], dnnl_a)
            var strides = [dnnl_dim_t(conv.stride), dnnl_dim_t(conv.stride)]
            var padL = [dnnl_dim_t(conv.padding.top), dnnl_dim_t(conv.padding.left)]
            var padR = [dnnl_dim_t(conv.padding.bottom), dnnl_dim_t(conv.padding.right)]
            let hasBias = conv.bias != nil && input == 0
            var desc = dnnl_convolution_desc_t()
            let described = withUnsafePointer(to: &bia) { biasPointer in
                dnnl_convolution_forward_desc_init(
                    &desc, dnnl_forward_inference, algorithm, &src, &wei, hasBias ? biasPointer : nil, &dst, &strides, &padL, &padR)
            }
            try DNNL.check(described, "convolution descriptor", shape: key.shape)
            let attr = try DNNLPrimitive.attributes()
            defer { dnnl_primitive_attr_destroy(attr) }
            var postOps: dnnl_post_ops_t?
            guard dnnl_post_ops_create(&postOps) == dnnl_success else { return nil }
            defer { dnnl_post_ops_destroy(postOps) }
            // Input blocks after the first add to the partial sum; a layer with a single input block
            // adds the residual after its activation (`activation(conv + bias) + residual`).
            if input > 0 { dnnl_post_ops_append_sum(postOps, 1) }
            if input == inputBlocks - 1, let (algorithm, alpha) = activation.separatePass?.algorithm {
                dnnl_post_ops_append_eltwise(postOps, 1, algorithm, alpha, 0)
            }
            if key.hasResidual && input == 0 { dnnl_post_ops_append_sum(postOps, 1) }
            guard dnnl_primitive_attr_set_post_ops(attr, postOps) == dnnl_success else { return nil }
            var pd: dnnl_primitive_desc_t?
            let created = dnnl_primitive_desc_create(&pd, &desc, attr, DNNL.engine, nil)
            if created == dnnl_unimplemented { return nil }
            try DNNL.check(created, "convolution primitive descriptor", shape: key.shape)
            return pd
        }

        /// The plain `(out, in, kh, kw)` weights of one block.
        func weights(from source: FormattedBuffer, output: Int, input: Int) throws -> FormattedBuffer {
            let taps = conv.kernelSize.height * conv.kernelSize.width
            var plain = DNNL.parameterDescriptor([conv.outChannels, conv.inChannels, conv.kernelSize.height, conv.kernelSize.width], dnnl_oihw)
            precondition(DNNL.sameFormat(source.descriptor, plain), "channel blocks are cut from the state dict's weights")
            let block = try TensorStorage(count: outputChannels * inputChannels * taps, zeroed: false, for: "a block of convolution weights")
            for o in 0..<outputChannels {
                let from = source.storage.pointer + ((output * outputChannels + o) * conv.inChannels + input * inputChannels) * taps
                (block.pointer + o * inputChannels * taps).update(from: from, count: inputChannels * taps)
            }
            plain = DNNL.parameterDescriptor([outputChannels, inputChannels, conv.kernelSize.height, conv.kernelSize.width], dnnl_oihw)
            return FormattedBuffer(descriptor: plain, storage: block)
        }

        /// The part for block (`output`, `input`) from its descriptor and weights.
        func part(_ pd: dnnl_primitive_desc_t, weights: FormattedBuffer, output: Int, input: Int) throws -> Plan.Part {
            let (h, w) = (key.shape[2], key.shape[3])
            let out = conv.outputSize(height: h, width: w)
            return Plan.Part(
                primitive: try DNNLPrimitive(pd, "convolution primitive block \(output),\(input)", shape: key.shape),
                weights: weights,
                sourceDescriptor: DNNL.queryDescriptor(pd, dnnl_query_src_md),
                destinationDescriptor: DNNL.queryDescriptor(pd, dnnl_query_dst_md),
                biasDescriptor: DNNL.parameterDescriptor([outputChannels], dnnl_a),
                sourceOffset: input * inputChannels * h * w,
                destinationOffset: output * outputChannels * out.height * out.width,
                biasOffset: input == 0 ? output * outputChannels : nil)
        }
    }
}
