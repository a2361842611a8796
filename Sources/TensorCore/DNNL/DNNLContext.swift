import CDNNL
import Foundation

/// Errors from the kernel libraries. They indicate a configuration oneDNN cannot run, so they
/// carry the operation and oneDNN's status for the bug report.
package enum KernelError: Error, CustomStringConvertible {
    case dnnl(operation: String, status: Int)
    case referenceFallback(operation: String, implementation: String)
    case unexpectedImplementation(operation: String, implementation: String)

    package var description: String {
        switch self {
        case .dnnl(let operation, let status):
            "oneDNN failed in \(operation) (status \(status))"
        case .referenceFallback(let operation, let implementation):
            "oneDNN has no optimised kernel for \(operation) (it chose '\(implementation)'), which would run ~100x slower"
        case .unexpectedImplementation(let operation, let implementation):
            "oneDNN chose '\(implementation)' for \(operation), which does not sum in the order requested"
        }
    }
}

/// The process-wide oneDNN CPU engine and stream. Networks run one at a time on a dedicated
/// executor, so a single in-order stream serves every primitive.
enum DNNL {
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        precondition(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success, "no oneDNN CPU engine")
        return engine!
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var stream: dnnl_stream_t?
        precondition(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success)
        return stream!
    }()

    static func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws {
        if status != dnnl_success {
            throw KernelError.dnnl(operation: operation(), status: Int(status.rawValue))
        }
    }

    /// A float32 memory descriptor for `dims` in a named format (`dnnl_format_tag_any` lets a primitive choose).
    static func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t, _ dataType: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var d = dims.map { dnnl_dim_t($0) }
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, dataType, tag)
        precondition(status == dnnl_success, "memory descriptor for \(dims)")
        return md
    }

    /// The descriptor matching a tensor's shape and layout.
    static func descriptor(for tensor: Tensor) -> dnnl_memory_desc_t {
        descriptor(shape: tensor.shape, layout: tensor.layout)
    }

    static func descriptor(shape: [Int], layout: TensorLayout, dataType: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        switch layout {
        case .contiguous:
            let tags: [Int: dnnl_format_tag_t] = [1: dnnl_a, 2: dnnl_ab, 3: dnnl_abc, 4: dnnl_abcd, 5: dnnl_abcde]
            return descriptor(shape, tags[shape.count]!, dataType)
        case .channelBlocked(16):
            return descriptor(shape, dnnl_nChw16c, dataType)
        case .channelBlocked(8):
            return descriptor(shape, dnnl_nChw8c, dataType)
        case .channelBlocked(let b):
            preconditionFailure("unsupported channel block \(b)")
        }
    }

    /// The tensor layout a descriptor describes, or nil when it is none we represent.
    static func layout(of md: dnnl_memory_desc_t) -> TensorLayout? {
        var copy = md
        let shape = withUnsafeBytes(of: &copy.dims) { raw in
            (0..<Int(md.ndims)).map { Int(raw.load(fromByteOffset: 8 * $0, as: Int64.self)) }
        }
        var candidates: [TensorLayout] = [.contiguous]
        if shape.count == 4 { candidates += [.channelBlocked(16), .channelBlocked(8)] }
        for layout in candidates {
            var expected = descriptor(shape: shape, layout: layout)
            if dnnl_memory_desc_equal(&copy, &expected) != 0 { return layout }
        }
        return nil
    }

    static func size(of md: dnnl_memory_desc_t) -> Int {
        var copy = md
        return dnnl_memory_desc_get_size(&copy)
    }

    /// A memory object over caller-owned data (no copy).
    static func memory(_ md: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) throws -> dnnl_memory_t {
        var copy = md
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &copy, engine, pointer), "memory_create")
        return memory!
    }

    /// The implementation name oneDNN picked, e.g. `brgconv:avx512_core` or `ref:any`.
    static func implementationName(_ pd: dnnl_primitive_desc_t) -> String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else {
            return "unknown"
        }
        return String(cString: name)
    }

    static func queryDescriptor(_ pd: dnnl_primitive_desc_t, _ what: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, what, 0).pointee
    }

    /// Runs a primitive with `(argument, memory)` pairs and waits for it.
    static func execute(_ primitive: dnnl_primitive_t, _ args: [(Int32, dnnl_memory_t)], _ operation: String) throws {
        let execArgs = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        try check(dnnl_primitive_execute(primitive, stream, Int32(execArgs.count), execArgs), operation)
        try check(dnnl_stream_wait(stream), operation)
    }
}
