/// The one place that knows how training code wraps and prefixes a state dict's keys: basicsr keeps
/// the weights in a nested `params_ema` (preferred) or `params` dict, DataParallel prefixes every key
/// with `module.`. The readers return keys as stored (inside the weights group, the one nesting a
/// file can have); `sanitized` gives the names the networks ask for.
package enum StateDictKeys {
    /// Nested dicts that hold a training checkpoint's weights, preferred first.
    package static let weightGroups = ["params_ema", "params"]
    /// What `torch.nn.DataParallel` puts in front of every key.
    package static let dataParallelPrefix = "module."

    /// The nested dict to read among a checkpoint's top-level `names`, if it wraps its weights.
    package static func weightGroup(among names: some Sequence<String>) -> String? {
        let present = Set(names)
        return weightGroups.first { present.contains($0) }
    }

    /// `raw` with the DataParallel prefix removed from every key that has it. Two keys that become
    /// one (`module.x` beside `x`) are a `CheckpointError.duplicateKey`.
    package static func sanitized(_ raw: StateDict) throws -> StateDict {
        guard raw.keys.contains(where: { $0.hasPrefix(dataParallelPrefix) }) else { return raw }
        return try raw.removingPrefix(dataParallelPrefix)
    }
}
