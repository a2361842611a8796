package import Checkpoints
import TensorCore

extension ParameterStore {
    /// The tensors of a state dict whose keys are already sanitised (`StateDictKeys.sanitized`).
    package convenience init(_ stateDict: StateDict) {
        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(stateDict.count)
        for key in stateDict.keys { tensors[key] = stateDict[key] }
        self.init(tensors: tensors, keys: stateDict.keys, source: stateDict.source)
    }
}
