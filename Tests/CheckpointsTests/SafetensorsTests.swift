import Foundation
import Testing
import Checkpoints
import TensorCore

@Suite("Safetensors")
struct SafetensorsTests {
    /// Builds a safetensors file from a JSON header and a data block.
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        return le(UInt64(json.count), 8) + json + data
    }

    @Test("F32, F16, BF16 and I64 tensors read back exactly, in data order, keys as stored")
    func roundTrip() throws {
        let f32: [Float] = [1.5, -2.25, 0, Float(bitPattern: 0x0020_0000), .greatestFiniteMagnitude, -1e-8]
        let f16Bits: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x83FF, 0x7BFF, 0x0000, 0x7C00, 0x3555]
        let bf16Bits: [UInt16] = [0x3F80, 0xC040, 0x0001, 0x4049]
        let ints: [Int64] = [-3, 1 << 20]
        var data = bytes(of: f32)
        let f16Start = data.count
        data += f16Bits.flatMap { le(UInt64($0), 2) }
        let bf16Start = data.count
        data += bf16Bits.flatMap { le(UInt64($0), 2) }
        let intStart = data.count
        data += ints.flatMap { le(UInt64(bitPattern: $0), 8) }
        // Keys deliberately out of data order in the JSON object.
        let header = """
        {"z.int": {"dtype": "I64", "shape": [2], "data_offsets": [\(intStart), \(data.count)]},
         "__metadata__": {"format": "pt"},
         "b.half": {"dtype": "F16", "shape": [2, 4], "data_offsets": [\(f16Start), \(bf16Start)]},
         "module.a.float": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, \(f16Start)]},
         "c.brain": {"dtype": "BF16", "shape": [4], "data_offsets": [\(bf16Start), \(intStart)]}}
        """
        let directory = try TemporaryDirectory()
        let url = try directory.write(Self.file(header: header, data: data), name: "small.safetensors")
        #expect(try CheckpointReader.format(of: url) == .safetensors)
        let raw = try CheckpointReader.load(url)
        #expect(raw.keys == ["module.a.float", "b.half", "c.brain", "z.int"])
        let weights = try StateDictKeys.sanitized(raw)

        #expect(weights.keys == ["a.float", "b.half", "c.brain", "z.int"])
        #expect(weights["a.float"]?.shape == [2, 3])
        #expect(weights["a.float"]?.toArray().map(\.bitPattern) == f32.map(\.bitPattern))
        #expect(weights["b.half"]?.shape == [2, 4])
        #expect(weights["b.half"]?.toArray().map(\.bitPattern) == f16Bits.map { Float(Float16(bitPattern: $0)).bitPattern })
        #expect(weights["b.half"]?.toArray()[2] == 0x1p-24)
        #expect(weights["c.brain"]?.toArray().map(\.bitPattern) == bf16Bits.map { UInt32($0) << 16 })
        #expect(weights["z.int"]?.toArray() == [-3, 1_048_576])
        #expect(weights.dtype(of: "a.float") == .float32)
        #expect(weights.dtype(of: "b.half") == .float16)
        #expect(weights.dtype(of: "c.brain") == .bfloat16)
        #expect(weights.dtype(of: "z.int") == .int64)
    }

    @Test("malformed headers are typed errors")
    func malformed() throws {
        let directory = try TemporaryDirectory()
        let data = bytes(of: [1, 2, 3, 4])

        let badJSON = try directory.write(Self.file(header: "{\"a\": {\"dtype\": \"F32\",", data: data), name: "json.safetensors")
        #expect { try CheckpointReader.load(badJSON) } throws: { error in
            if case CheckpointError.malformedSafetensors(file: "json.safetensors", _) = error { true } else { false }
        }

        let outside = try directory.write(
            Self.file(header: #"{"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}"#, data: data),
            name: "outside.safetensors")
        #expect { try CheckpointReader.load(outside) } throws: { error in
            if case CheckpointError.malformedSafetensors(_, let reason) = error { reason.contains("outside") } else { false }
        }

        let wrongSize = try directory.write(
            Self.file(header: #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}"#, data: data),
            name: "size.safetensors")
        #expect(throws: CheckpointError.self) { try CheckpointReader.load(wrongSize) }

        let missingField = try directory.write(
            Self.file(header: #"{"a": {"dtype": "F32", "data_offsets": [0, 16]}}"#, data: data), name: "field.safetensors")
        #expect { try CheckpointReader.load(missingField) } throws: { error in
            if case CheckpointError.malformedSafetensors(_, let reason) = error { reason.contains("shape") } else { false }
        }

        let fp8 = try directory.write(
            Self.file(header: #"{"q": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}}"#, data: data),
            name: "fp8.safetensors")
        #expect(throws: CheckpointError.unsupportedDType(file: "fp8.safetensors", key: "q", dtype: "F8_E4M3")) {
            try CheckpointReader.load(fp8)
        }

        // A header length beyond the file is not mistaken for safetensors at all.
        let hugeLength = try directory.write(le(1 << 40, 8) + Array("{}".utf8), name: "huge.safetensors")
        #expect(throws: CheckpointError.self) { try CheckpointReader.load(hugeLength) }
    }
}
