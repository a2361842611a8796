package import Foundation

/// Entry point: reads any supported checkpoint file into a `StateDict`.
package enum CheckpointReader {
    /// The container formats `load` understands.
    package enum Format: String, Sendable {
        case torchZip, torchLegacy, safetensors
    }

    /// Sniffs the format (zip .pth, legacy .pth, safetensors) from the bytes, not the extension.
    /// Reads the nested weights group of a training checkpoint (`params_ema`, else `params`: official
    /// basicsr / CodeFormer / Real-ESRGAN files); keys come back as stored, a DataParallel `module.`
    /// prefix included (`StateDictKeys.sanitized` removes it; the networks' loader does).
    /// Tensors come back as contiguous float32 whatever the file stored; `StateDict.dtype(of:)` tells which.
    package static func load(_ url: URL) throws -> StateDict {
        let file = try MappedFile(url)
        switch try format(of: file) {
        case .torchZip: return try TorchCheckpoint.load(file)
        case .torchLegacy: return try LegacyTorchCheckpoint.load(file)
        case .safetensors: return try Safetensors.load(file)
        }
    }

    /// The format of a file, from its first bytes.
    package static func format(of url: URL) throws -> Format {
        try format(of: MappedFile(url))
    }

    static func format(of file: MappedFile) throws -> Format {
        let bytes = file.bytes
        guard !bytes.isEmpty else { throw CheckpointError.unrecognizedFormat(file: file.name, reason: "the file is empty") }
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B,
           (bytes[2], bytes[3]) == (0x03, 0x04) || (bytes[2], bytes[3]) == (0x05, 0x06) {
            return .torchZip
        }
        if bytes[0] == 0x80 { return .torchLegacy }
        if Safetensors.matches(bytes) { return .safetensors }
        if bytes.count >= 262, Array(bytes[257..<262]) == Array("ustar".utf8) {
            throw CheckpointError.unrecognizedFormat(file: file.name, reason: "a tar archive (torch < 0.4 format), which is not supported")
        }
        let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw CheckpointError.unrecognizedFormat(file: file.name, reason: "it starts with bytes \(head)")
    }
}
