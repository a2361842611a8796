import CDNNL
import Foundation

/// A created oneDNN primitive, run with a scratchpad this code manages.
///
/// oneDNN's default, library-managed scratchpad is a thread-local buffer whose lifetime is counted
/// per creating thread; with primitives created, run and destroyed on whichever thread Swift
/// concurrency hands out, that buffer was freed under running primitives (a crash in oneDNN's
/// memset). Every primitive here is therefore created in user-scratchpad mode. One process-wide
/// scratchpad, grown to the largest request, serves them all, so executions are serialised: each
/// already uses every core, and a scratchpad per primitive grew memory with every tile shape
/// (3.3 GB for a tiled 1024x1024 upscale).
final class DNNLPrimitive: @unchecked Sendable {
    let handle: dnnl_primitive_t
    let implementation: String
    private let scratchpadDescriptor: dnnl_memory_desc_t
    private let scratchpadBytes: Int

    private static let executionLock = NSLock()
    nonisolated(unsafe) private static var scratchpad: TensorStorage?

    /// Attributes every primitive starts from: user-managed scratchpad. The caller destroys them.
    static func attributes() throws -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attr), "primitive attributes")
        try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        return attr!
    }

    /// Creates the primitive from a descriptor made with `attributes()`.
    init(_ pd: dnnl_primitive_desc_t, _ operation: String, shape: [Int] = []) throws {
        implementation = DNNL.implementationName(pd)
        scratchpadDescriptor = DNNL.queryDescriptor(pd, dnnl_query_scratchpad_md)
        scratchpadBytes = DNNL.size(of: scratchpadDescriptor)
        var primitive: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&primitive, pd), operation, shape: shape)
        handle = primitive!
    }

    deinit { dnnl_primitive_destroy(handle) }

    /// Throws `ComputeError` when the scratchpad cannot be had or the primitive fails.
    func execute(_ args: [(Int32, dnnl_memory_t)], _ operation: String, shape: [Int] = []) throws {
        Self.executionLock.lock()
        defer { Self.executionLock.unlock() }
        var all = args
        var scratchMemory: dnnl_memory_t?
        if scratchpadBytes > 0 {
            let floats = (scratchpadBytes + 3) / 4
            if (Self.scratchpad?.count ?? 0) < floats {
                Self.scratchpad = nil
                Self.scratchpad = try TensorStorage(count: floats, zeroed: false, for: "scratchpad of \(operation)")
            }
            scratchMemory = try DNNL.memory(scratchpadDescriptor, Self.scratchpad!.pointer)
            all.append((DNNL_ARG_SCRATCHPAD, scratchMemory!))
        }
        defer { if let scratchMemory { dnnl_memory_destroy(scratchMemory) } }
        try DNNL.execute(handle, all, operation, shape: shape)
    }
}
