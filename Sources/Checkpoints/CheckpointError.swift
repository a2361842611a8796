import Foundation

/// Everything that can go wrong turning a file into a `StateDict`. Each case names the file (its last
/// path component) and says what was expected, so the one-line description tells a user what to fix.
package enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or mapped.
    case unreadable(file: String, reason: String)
    /// The first bytes match none of the supported formats.
    case unrecognizedFormat(file: String, reason: String)
    /// The file ends before a structure it announces.
    case truncated(file: String, what: String)
    /// The zip container is inconsistent (bad signatures, offsets outside the file, encryption...).
    case malformedZip(file: String, reason: String)
    /// A zip member is compressed; torch.save stores members uncompressed, so the file was repacked.
    case compressedEntry(file: String, entry: String, method: Int)
    /// A member the format requires is absent.
    case missingEntry(file: String, entry: String)
    /// The pickle stream is inconsistent (stack underflow, bad memo index, wrong argument types...).
    case malformedPickle(file: String, offset: Int, reason: String)
    /// An opcode outside the subset torch.save emits for state dicts.
    case unsupportedOpcode(file: String, offset: Int, opcode: UInt8)
    /// The pickle names a global outside the allow-list; loading it could execute code.
    case forbiddenGlobal(file: String, name: String)
    /// The unpickled object is not a mapping from names to tensors.
    case notAStateDict(file: String, reason: String)
    /// A tensor's element type cannot be represented as float32.
    case unsupportedDType(file: String, key: String, dtype: String)
    /// A tensor needs elements beyond the end of its storage.
    case storageTooSmall(file: String, key: String, storage: String, neededBytes: Int, availableBytes: Int)
    /// A tensor's size/stride/offset metadata is invalid (negative, overflowing, mismatched ranks).
    case invalidTensorGeometry(file: String, key: String, reason: String)
    /// Two entries end up with the same name (e.g. `module.x` and `x` after prefix stripping).
    case duplicateKey(file: String, key: String)
    /// The safetensors header is invalid.
    case malformedSafetensors(file: String, reason: String)
    /// The synthetic-weights manifest is invalid.
    case malformedManifest(file: String, reason: String)
    /// A caller asked for a key the state dict does not have.
    case missingKey(file: String, key: String)
    /// A caller expected another shape for a key.
    case shapeMismatch(file: String, key: String, expected: [Int], actual: [Int])

    package var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "\(file): cannot read the file: \(reason)"
        case .unrecognizedFormat(let file, let reason):
            "\(file): not a PyTorch checkpoint (zip or legacy) or safetensors file: \(reason)"
        case .truncated(let file, let what):
            "\(file): the file is truncated: it ends inside \(what); download it again"
        case .malformedZip(let file, let reason):
            "\(file): damaged zip container: \(reason)"
        case .compressedEntry(let file, let entry, let method):
            "\(file): member \(entry) is compressed (method \(method)); torch.save writes uncompressed members, re-save the checkpoint with torch.save"
        case .missingEntry(let file, let entry):
            "\(file): the archive has no \(entry); it is not a torch.save checkpoint"
        case .malformedPickle(let file, let offset, let reason):
            "\(file): damaged pickle at byte \(offset): \(reason)"
        case .unsupportedOpcode(let file, let offset, let opcode):
            "\(file): pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) is not used by state-dict checkpoints; refusing to load"
        case .forbiddenGlobal(let file, let name):
            "\(file): refusing to load: the pickle references \(name), which a state dict never needs"
        case .notAStateDict(let file, let reason):
            "\(file): not a state dict: \(reason)"
        case .unsupportedDType(let file, let key, let dtype):
            "\(file): tensor \(key) has element type \(dtype), which cannot be loaded as float32"
        case .storageTooSmall(let file, let key, let storage, let needed, let available):
            "\(file): tensor \(key) needs \(needed) bytes of storage \(storage) but only \(available) are present; the file is damaged"
        case .invalidTensorGeometry(let file, let key, let reason):
            "\(file): tensor \(key) has invalid geometry: \(reason)"
        case .duplicateKey(let file, let key):
            "\(file): key \(key) occurs twice (after removing the `module.` prefix)"
        case .malformedSafetensors(let file, let reason):
            "\(file): damaged safetensors file: \(reason)"
        case .malformedManifest(let file, let reason):
            "\(file): invalid synthetic-weights manifest: \(reason)"
        case .missingKey(let file, let key):
            "\(file): the checkpoint has no tensor named \(key); is it the right model file?"
        case .shapeMismatch(let file, let key, let expected, let actual):
            "\(file): tensor \(key) has shape \(actual), expected \(expected); is it the right model variant?"
        }
    }
}
