import CDNNL
import Foundation

/// A created oneDNN primitive that owns its scratchpad.
///
/// oneDNN's default, library-managed scratchpad is a thread-local buffer whose lifetime is counted
/// per creating thread; with primitives created, run and destroyed on whichever thread Swift
/// concurrency hands out, that buffer was freed under running primitives (a crash in oneDNN's
/// memset). Every primitive here is therefore created in user-scratchpad mode and runs with its own
/// buffer, one execution at a time.
final class DNNLPrimitive: @unchecked Sendable {
    let handle: dnnl_primitive_t
    let implementation: String
    private let scratchpadDescriptor: dnnl_memory_desc_t
    private let scratchpad: TensorStorage?
    private let lock = NSLock()

    /// Attributes every primitive starts from: user-managed scratchpad. The caller destroys them.
    static func attributes() throws -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attr), "primitive attributes")
        try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        return attr!
    }

    /// Creates the primitive from a descriptor made with `attributes()`.
    init(_ pd: dnnl_primitive_desc_t, _ operation: String) throws {
        implementation = DNNL.implementationName(pd)
        scratchpadDescriptor = DNNL.queryDescriptor(pd, dnnl_query_scratchpad_md)
        let bytes = DNNL.size(of: scratchpadDescriptor)
        scratchpad = bytes > 0 ? TensorStorage(count: (bytes + 3) / 4, zeroed: false) : nil
        var primitive: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&primitive, pd), operation)
        handle = primitive!
    }

    deinit { dnnl_primitive_destroy(handle) }

    func execute(_ args: [(Int32, dnnl_memory_t)], _ operation: String) throws {
        lock.lock()
        defer { lock.unlock() }
        var all = args
        var scratchMemory: dnnl_memory_t?
        if let scratchpad {
            scratchMemory = try DNNL.memory(scratchpadDescriptor, scratchpad.pointer)
            all.append((DNNL_ARG_SCRATCHPAD, scratchMemory!))
        }
        defer { if let scratchMemory { dnnl_memory_destroy(scratchMemory) } }
        try DNNL.execute(handle, all, operation)
    }
}
