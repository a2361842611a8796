package import Foundation
import TensorCore

/// Writes a `StateDict` as a float32 safetensors file. Tests use it to put synthetic weights on
/// disk under an official file name (`CheckpointReader` sniffs the format from the bytes, so a
/// safetensors file named `parsing_parsenet.pth` loads); it is not meant for shipping models.
package enum SafetensorsWriter {
    /// The file's bytes: header length, JSON header (keys in `stateDict.keys` order), data block.
    package static func data(_ stateDict: StateDict) -> Data {
        var entries: [String] = []
        var offset = 0
        for key in stateDict.keys {
            let tensor = stateDict[key]!
            let bytes = tensor.elementCount * MemoryLayout<Float>.size
            entries.append("\(jsonString(key)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        // The format asks for the data block to start 8-byte aligned; pad the header with spaces.
        while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for key in stateDict.keys {
            let values = stateDict[key]!.toArray().map { $0.bitPattern.littleEndian }
            values.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes `data(stateDict)` to `url` atomically.
    package static func write(_ stateDict: StateDict, to url: URL) throws {
        try data(stateDict).write(to: url, options: .atomic)
    }

    private static func jsonString(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
