import CDNNL
import Foundation

/// Element-wise activations run in place by oneDNN's vectorised kernels (Swift's scalar `exp` would
/// dominate the run time on large feature maps).
package enum Activation: Hashable, Sendable {
    case swish
    case relu
    case leakyReLU(Float)
    case sigmoid
    case geluErf

    var algorithm: (dnnl_alg_kind_t, Float) {
        switch self {
        case .swish: (dnnl_eltwise_swish, 1)
        case .relu: (dnnl_eltwise_relu, 0)
        case .leakyReLU(let slope): (dnnl_eltwise_relu, slope)
        case .sigmoid: (dnnl_eltwise_logistic, 0)
        case .geluErf: (dnnl_eltwise_gelu_erf, 0)
        }
    }
}

extension Tensor {
    /// Applies `activation` to every element of this tensor's own storage: in place when this
    /// handle is the only one to it, else on a copy first (other handles keep their values).
    package mutating func apply(_ activation: Activation) throws {
        try makeUnique()
        try EltwiseCache.shared.run(activation, on: data, count: Tensor.storageCount(shape: shape, layout: layout))
    }

    /// A new tensor holding `activation(self)`.
    package func applying(_ activation: Activation) throws -> Tensor {
        var out = try copy()
        try out.apply(activation)
        return out
    }
}

final class EltwiseCache: @unchecked Sendable {
    static let shared = EltwiseCache()

    private struct Key: Hashable {
        let count: Int
        let activation: Activation
    }

    private var primitives = RecentlyUsedCache<Key, DNNLPrimitive>(capacity: 64)
    private let lock = NSLock()

    /// Padding in blocked layouts stays zero for every activation used here (f(0) = 0) except
    /// sigmoid, which the caller must only use on contiguous tensors.
    func run(_ activation: Activation, on data: UnsafeMutablePointer<Float>, count: Int) throws {
        let key = Key(count: count, activation: activation)
        let md = try DNNL.descriptor([count], dnnl_a)
        let primitive = try self.primitive(key, md)
        let memory = try DNNL.memory(md, data)
        defer { dnnl_memory_destroy(memory) }
        try primitive.execute([(DNNL_ARG_SRC, memory), (DNNL_ARG_DST, memory)], "eltwise \(activation)", shape: [count])
    }

    private func primitive(_ key: Key, _ md: dnnl_memory_desc_t) throws -> DNNLPrimitive {
        lock.lock()
        defer { lock.unlock() }
        if let primitive = primitives.value(for: key) { return primitive }
        var src = md
        var desc = dnnl_eltwise_desc_t()
        let (algorithm, alpha) = key.activation.algorithm
        try DNNL.check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, algorithm, &src, alpha, 0), "eltwise descriptor", shape: [key.count])
        let attr = try DNNLPrimitive.attributes()
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        try DNNL.check(dnnl_primitive_desc_create(&pd, &desc, attr, DNNL.engine, nil), "eltwise primitive descriptor", shape: [key.count])
        defer { dnnl_primitive_desc_destroy(pd) }
        let primitive = try DNNLPrimitive(pd!, "eltwise primitive", shape: [key.count])
        primitives.insert(primitive, for: key)
        return primitive
    }
}
