import Networks
import Testing
import TensorCore
import TestSupport

/// `ResBlock` overwrites maps only when it holds the only handle to them.
@Suite struct ResBlockTests {
    static func block(inChannels: Int, outChannels: Int) throws -> ResBlock {
        var tensors: [String: Tensor] = [:]
        func add(_ name: String, _ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -0.1...0.1) throws {
            tensors[name] = try Tensor(shape: shape, values: randomValues(shape.reduce(1, *), seed: seed, range: range))
        }
        try add("norm1.weight", [inChannels], seed: 1, range: 0.5...1.5)
        try add("norm1.bias", [inChannels], seed: 2)
        try add("conv1.weight", [outChannels, inChannels, 3, 3], seed: 3)
        try add("conv1.bias", [outChannels], seed: 4)
        try add("norm2.weight", [outChannels], seed: 5, range: 0.5...1.5)
        try add("norm2.bias", [outChannels], seed: 6)
        try add("conv2.weight", [outChannels, outChannels, 3, 3], seed: 7)
        try add("conv2.bias", [outChannels], seed: 8)
        if inChannels != outChannels {
            try add("conv_out.weight", [outChannels, inChannels, 1, 1], seed: 9)
            try add("conv_out.bias", [outChannels], seed: 10)
        }
        return try ResBlock(ParameterStore(tensors: tensors, keys: tensors.keys.sorted(), source: "resblock").scope(""))
    }

    @Test(arguments: [(64, 32), (32, 32)])
    func sharedInputIsLeftAloneAndResultsAgree(inChannels: Int, outChannels: Int) throws {
        let block = try Self.block(inChannels: inChannels, outChannels: outChannels)
        let values = randomValues(inChannels * 20 * 18, seed: 11)
        let shared = try Tensor(shape: [1, inChannels, 20, 18], values: values).withLayout(.channelBlocked(Conv2d.activationBlock))
        let fromShared = try block(shared).toArray()
        #expect(try shared.toArray() == Tensor(shape: [1, inChannels, 20, 18], values: values).toArray(), "the caller's map was overwritten")

        var own = try Tensor(shape: [1, inChannels, 20, 18], values: values).withLayout(.channelBlocked(Conv2d.activationBlock))
        let unique = own.isUniquelyReferenced()
        #expect(unique)
        let fromOwn = try block(consume own).toArray()
        #expect(fromOwn == fromShared)
    }
}
