import CDNNL
import Foundation

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

    /// Throws `ComputeError` for a failed call: `shape` is the input the operation was for,
    /// `executing` tells a primitive that failed when run from one that could not be made.
    static func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String, shape: [Int] = [], executing: Bool = false) throws {
        if status != dnnl_success {
            throw ComputeError.dnnl(status, operation: operation(), shape: shape, executing: executing)
        }
    }

    /// A float32 memory descriptor for `dims` in a named format (`dnnl_format_tag_any` lets a
    /// primitive choose); throws for dimensions oneDNN refuses (negative, or too many elements).
    static func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t, _ dataType: dnnl_data_type_t = dnnl_f32) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var d = dims.map { dnnl_dim_t($0) }
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, dataType, tag), "memory descriptor", shape: dims)
        return md
    }

    /// The descriptor of weights or a bias, whose shapes come from a loaded tensor and are valid by
    /// construction.
    static func parameterDescriptor(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var d = dims.map { dnnl_dim_t($0) }
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, dnnl_f32, tag)
        precondition(status == dnnl_success, "memory descriptor for parameters \(dims)")
        return md
    }

    /// The descriptor matching a tensor's shape and layout.
    static func descriptor(for tensor: Tensor) throws -> dnnl_memory_desc_t {
        try descriptor(shape: tensor.shape, layout: tensor.layout)
    }

    static func descriptor(shape: [Int], layout: TensorLayout, dataType: dnnl_data_type_t = dnnl_f32) throws -> dnnl_memory_desc_t {
        switch layout {
        case .contiguous:
            let tags: [Int: dnnl_format_tag_t] = [1: dnnl_a, 2: dnnl_ab, 3: dnnl_abc, 4: dnnl_abcd, 5: dnnl_abcde]
            return try descriptor(shape, tags[shape.count]!, dataType)
        case .channelBlocked(16):
            return try descriptor(shape, dnnl_nChw16c, dataType)
        case .channelBlocked(8):
            return try descriptor(shape, dnnl_nChw8c, dataType)
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
            guard var expected = try? descriptor(shape: shape, layout: layout) else { continue }
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
        try check(dnnl_memory_create(&memory, &copy, engine, pointer), "memory object")
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
    static func execute(_ primitive: dnnl_primitive_t, _ args: [(Int32, dnnl_memory_t)], _ operation: String, shape: [Int]) throws {
        let execArgs = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        try check(dnnl_primitive_execute(primitive, stream, Int32(execArgs.count), execArgs), operation, shape: shape, executing: true)
        try check(dnnl_stream_wait(stream), operation, shape: shape, executing: true)
    }
}
