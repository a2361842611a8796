import CDNNL

extension DNNL {
    static func sameFormat(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// Copies `count` bytes' worth of data described by `from` into `to`, converting the layout.
    static func reorder(
        from source: dnnl_memory_desc_t, _ sourcePointer: UnsafeMutableRawPointer,
        to destination: dnnl_memory_desc_t, _ destinationPointer: UnsafeMutableRawPointer
    ) throws {
        var src = source, dst = destination
        let attr = try DNNLPrimitive.attributes()
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        let shape = dims(of: source)
        try check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attr), "reorder descriptor", shape: shape)
        defer { dnnl_primitive_desc_destroy(pd) }
        let primitive = try DNNLPrimitive(pd!, "reorder primitive", shape: shape)
        let srcMemory = try memory(src, sourcePointer)
        defer { dnnl_memory_destroy(srcMemory) }
        let dstMemory = try memory(dst, destinationPointer)
        defer { dnnl_memory_destroy(dstMemory) }
        try primitive.execute([(DNNL_ARG_FROM, srcMemory), (DNNL_ARG_TO, dstMemory)], "reorder", shape: shape)
    }

    /// The dimensions a descriptor describes (for error messages).
    static func dims(of md: dnnl_memory_desc_t) -> [Int] {
        var copy = md
        return withUnsafeBytes(of: &copy.dims) { raw in
            (0..<Int(md.ndims)).map { Int(raw.load(fromByteOffset: 8 * $0, as: Int64.self)) }
        }
    }
}

/// Raw float storage in whatever format a oneDNN primitive asked for (e.g. blocked or Winograd
/// weights), with its descriptor.
final class FormattedBuffer: @unchecked Sendable {
    let descriptor: dnnl_memory_desc_t
    let storage: TensorStorage

    init(descriptor: dnnl_memory_desc_t, storage: TensorStorage) {
        self.descriptor = descriptor
        self.storage = storage
    }

    /// A copy of this buffer's data in the format `target` describes.
    func reordered(to target: dnnl_memory_desc_t) throws -> FormattedBuffer {
        if sameFormat(as: target) { return self }
        let out = try TensorStorage(count: (DNNL.size(of: target) + 3) / 4, for: "reordered weights")
        try DNNL.reorder(from: descriptor, storage.pointer, to: target, out.pointer)
        return FormattedBuffer(descriptor: target, storage: out)
    }

    func sameFormat(as other: dnnl_memory_desc_t) -> Bool {
        DNNL.sameFormat(descriptor, other)
    }
}

extension Tensor {
    /// The tensor in another layout, reordered by oneDNN (fast for large feature maps).
    package func withLayout(_ target: TensorLayout) throws -> Tensor {
        if layout == target { return self }
        let out = try Tensor(zeros: shape, layout: target)
        try DNNL.reorder(from: DNNL.descriptor(for: self), data, to: DNNL.descriptor(for: out), out.data)
        return out
    }
}
