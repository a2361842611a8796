import Foundation
import Testing
import Checkpoints
import TensorCore

@Suite("Safetensors writer")
struct SafetensorsWriterTests {
    @Test("a written state dict reads back exactly, keys in order, header padded to 8 bytes, under any file name")
    func roundTrip() throws {
        var stateDict = StateDict(source: "test")
        try stateDict.insert(Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, .greatestFiniteMagnitude, -1e-8]), forKey: "b.weight", dtype: .float32)
        try stateDict.insert(Tensor(shape: [1], values: [42]), forKey: "a.\"quoted\"", dtype: .float32)
        let data = SafetensorsWriter.data(stateDict)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)

        let directory = try TemporaryDirectory()
        let url = try directory.write(Array(data), name: "parsing_parsenet.pth")
        #expect(try CheckpointReader.format(of: url) == .safetensors)
        let back = try CheckpointReader.load(url)
        #expect(back.keys == ["b.weight", "a.\"quoted\""])
        #expect(back["b.weight"]?.shape == [2, 3])
        #expect(back["b.weight"]?.toArray().map(\.bitPattern) == stateDict["b.weight"]?.toArray().map(\.bitPattern))
        #expect(back["a.\"quoted\""]?.toArray() == [42])
    }
}
