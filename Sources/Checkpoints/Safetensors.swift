import Foundation
import TensorCore

/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data block.
/// Offsets are relative to the data block and are validated against the file before any read.
enum Safetensors {
    static let dtypes: [String: StorageDType] = [
        "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
        "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]

    /// Whether the bytes look like safetensors: a plausible header length followed by `{`.
    static func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 10 else { return false }
        let length = bytes.littleEndian(at: 0, width: 8)
        return length >= 2 && length <= UInt64(bytes.count - 8) && bytes[8] == UInt8(ascii: "{")
    }

    private struct Info: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Header: Decodable {
        var tensors: [(name: String, info: Info)] = []
        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys where key.stringValue != "__metadata__" {
                tensors.append((key.stringValue, try container.decode(Info.self, forKey: key)))
            }
        }
    }

    static func load(_ file: MappedFile) throws -> StateDict {
        let name = file.name
        let bytes = file.bytes
        func malformed(_ reason: String) -> CheckpointError { .malformedSafetensors(file: name, reason: reason) }
        guard bytes.count >= 8 else { throw CheckpointError.truncated(file: name, what: "the safetensors header length") }
        let headerLength = bytes.littleEndian(at: 0, width: 8)
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw CheckpointError.truncated(file: name, what: "the safetensors header (\(headerLength) bytes announced)")
        }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: headerBytes)
        } catch {
            throw malformed("header is not the expected JSON (\(Self.summary(of: error)))")
        }
        let dataLength = bytes.count - dataStart

        // File order is data order; JSON object order carries no meaning.
        let ordered = header.tensors.sorted {
            ($0.info.data_offsets.first ?? 0, $0.name) < ($1.info.data_offsets.first ?? 0, $1.name)
        }
        var stateDict = StateDict(source: name)
        for (key, info) in ordered {
            guard let dtype = dtypes[info.dtype] else {
                throw CheckpointError.unsupportedDType(file: name, key: key, dtype: info.dtype)
            }
            guard info.data_offsets.count == 2 else { throw malformed("\(key): data_offsets must have two entries") }
            let begin = info.data_offsets[0], end = info.data_offsets[1]
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw malformed("\(key): data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data block")
            }
            guard info.shape.allSatisfy({ $0 >= 0 }) else { throw malformed("\(key): negative dimension in \(info.shape)") }
            guard let count = TensorMaterializer.checkedElementCount(info.shape) else {
                throw malformed("\(key): shape \(info.shape) is too large")
            }
            guard count * dtype.byteSize == end - begin else {
                throw malformed("\(key): shape \(info.shape) of \(info.dtype) needs \(count * dtype.byteSize) bytes, offsets span \(end - begin)")
            }
            let tensor = try Tensor(zeros: info.shape)
            if count > 0 {
                ElementConversion.convert(bytes.baseAddress! + dataStart + begin, dtype: dtype, bigEndian: false,
                                          count: count, stride: 1, into: tensor.data)
            }
            try stateDict.insert(tensor, forKey: key, dtype: dtype)
        }
        return stateDict
    }

    static func summary(of error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            "missing '\(key.stringValue)' at \(path(context))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(path(context))"
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "invalid JSON" : "invalid value at \(path(context))"
        default:
            "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }
}
