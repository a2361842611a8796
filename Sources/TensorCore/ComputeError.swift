import CDNNL

/// A computation the tensor core could not carry out. Thrown by every operation that allocates a
/// tensor or runs a oneDNN primitive, so that a request which cannot be computed (out of memory on a
/// huge image, a shape oneDNN has no kernel for) fails alone instead of ending the process.
package enum ComputeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Memory for a buffer could not be had (`mmap`/`aligned_alloc` failed, or oneDNN reported
    /// `out_of_memory`). Nothing is wrong with the request's form: it may succeed when memory is
    /// free again, or when smaller. `bytes` is nil when oneDNN did not say how much it wanted.
    case outOfMemory(bytes: Int?, operation: String)
    /// oneDNN refused to describe or create a primitive for `operation` on an input of `shape`.
    case primitiveCreation(operation: String, shape: [Int], status: Int)
    /// A created primitive failed when run.
    case execution(operation: String, shape: [Int], status: Int)
    /// oneDNN has only its reference code for this layer and shape (about 100x slower): refused
    /// rather than run; a layer retries on narrower channel blocks.
    case referenceFallback(operation: String, implementation: String)
    /// oneDNN picked a kernel that does not sum in the order the layer asked for (`ConvAlgorithm.gemm`).
    case unexpectedImplementation(operation: String, implementation: String)

    /// Whether the failure is a lack of resources (memory) rather than something this input or
    /// layer can never do: a client may retry the same work later.
    package var isResourceExhaustion: Bool {
        if case .outOfMemory = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .outOfMemory(let bytes, let operation):
            "out of memory in \(operation)" + (bytes.map { " (\(Self.describe(bytes: $0)) requested)" } ?? "")
        case .primitiveCreation(let operation, let shape, let status):
            "oneDNN could not create \(operation) for input \(shape): \(Self.statusName(status))"
        case .execution(let operation, let shape, let status):
            "oneDNN failed running \(operation) on input \(shape): \(Self.statusName(status))"
        case .referenceFallback(let operation, let implementation):
            "oneDNN has no optimised kernel for \(operation) (it chose '\(implementation)'), which would run ~100x slower"
        case .unexpectedImplementation(let operation, let implementation):
            "oneDNN chose '\(implementation)' for \(operation), which does not sum in the order requested"
        }
    }

    /// oneDNN's name for a `dnnl_status_t`, with its number.
    static func statusName(_ status: Int) -> String {
        let names = [1: "out_of_memory", 2: "invalid_arguments", 3: "unimplemented", 4: "iterator_ends", 5: "runtime_error", 6: "not_required"]
        return "status \(status) (\(names[status] ?? "unknown"))"
    }

    static func describe(bytes: Int) -> String {
        bytes >= 1 << 30 ? "\(bytes >> 30) GiB" : bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    /// The error for a failed oneDNN call: out of memory, or a creation or execution failure.
    static func dnnl(_ status: dnnl_status_t, operation: String, shape: [Int], executing: Bool) -> ComputeError {
        if status == dnnl_out_of_memory { return .outOfMemory(bytes: nil, operation: "\(operation) on input \(shape)") }
        let code = Int(status.rawValue)
        return executing ? .execution(operation: operation, shape: shape, status: code)
                         : .primitiveCreation(operation: operation, shape: shape, status: code)
    }
}
