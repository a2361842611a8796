import Foundation
import Testing
import TestSupport
import Checkpoints

/// A checkpoint is untrusted input: pickles that try to call code, and damaged files, must end in a
/// typed error, never in code execution or a crash.
@Suite("Hostile and damaged input")
struct HostileInputTests {
    /// Checks the refusal as the data.pkl of a zip checkpoint and, for pickles without persistent ids,
    /// also as a bare pickle file (which is sniffed as the legacy format).
    static func refused(_ pickle: [UInt8], as name: String, alsoBare: Bool = true) throws {
        let directory = try TemporaryDirectory()
        if alsoBare {
            let raw = try directory.write(pickle, name: "raw.pth")
            #expect(throws: CheckpointError.forbiddenGlobal(file: "raw.pth", name: name)) { try CheckpointReader.load(raw) }
        }
        let zipped = try directory.write(TorchPickleTests.checkpoint(pickle: pickle, storages: [:]), name: "zip.pth")
        #expect(throws: CheckpointError.forbiddenGlobal(file: "zip.pth", name: name)) { try CheckpointReader.load(zipped) }
    }

    @Test("GLOBAL os.system + REDUCE is refused by name")
    func osSystem() throws {
        var p = PickleWriter()
        p.global("os", "system"); p.string("touch /tmp/pwned"); p.op(0x85); p.op(0x52); p.stop()
        try Self.refused(p.bytes, as: "os.system")
        let error = CheckpointError.forbiddenGlobal(file: "evil.pth", name: "os.system")
        #expect(error.description == "evil.pth: refusing to load: the pickle references os.system, which a state dict never needs")
    }

    @Test("STACK_GLOBAL builtins.eval (protocol 4) is refused")
    func builtinsEval() throws {
        var p = PickleWriter()
        // PROTO 4, SHORT_BINUNICODE 'builtins', SHORT_BINUNICODE 'eval', STACK_GLOBAL
        p.bytes = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93]
        p.string("__import__('os').system('id')"); p.op(0x85); p.op(0x52); p.stop()
        try Self.refused(p.bytes, as: "builtins.eval")
    }

    @Test("a forbidden global hidden inside an otherwise valid state dict is refused")
    func hiddenInsideStateDict() throws {
        var p = PickleWriter()
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.tensorEntry(key: "ok", storageType: "FloatStorage", storageKey: "0", numel: 1, offset: 0, size: [1], stride: [1])
        p.op(0x73)
        p.string("bad"); p.global("subprocess", "Popen"); p.string("ls"); p.op(0x85); p.op(0x52); p.op(0x73)
        p.stop()
        try Self.refused(p.bytes, as: "subprocess.Popen", alsoBare: false)

        var loader = PickleWriter()
        loader.global("torch.storage", "_load_from_bytes"); loader.op(0x29); loader.op(0x52); loader.stop()
        try Self.refused(loader.bytes, as: "torch.storage._load_from_bytes")
        var getattr = PickleWriter()
        getattr.global("torch", "load"); getattr.stop()
        try Self.refused(getattr.bytes, as: "torch.load")
    }

    @Test("INST, OBJ and EXT opcodes are refused as unsupported")
    func instantiatingOpcodes() throws {
        let directory = try TemporaryDirectory()
        for (opcode, body) in [(UInt8(0x69), Array("os\nsystem\n".utf8)), (0x6F, []), (0x82, [1])] {
            var p = PickleWriter()
            p.mark()
            p.bytes += [opcode] + body
            p.stop()
            let url = try directory.write(TorchPickleTests.checkpoint(pickle: p.bytes, storages: [:]), name: "op.pth")
            #expect { try CheckpointReader.load(url) } throws: { error in
                if case CheckpointError.unsupportedOpcode(_, _, opcode) = error { true } else { false }
            }
        }
    }

    @Test("stack and memo abuse are malformed-pickle errors")
    func stackAbuse() throws {
        let directory = try TemporaryDirectory()
        let streams: [[UInt8]] = [
            [0x80, 0x02, 0x2E],  // STOP on an empty stack
            [0x80, 0x02, 0x68, 0x09, 0x2E],  // BINGET of an unset memo slot
            [0x80, 0x02, 0x74, 0x2E],  // TUPLE without MARK
            [0x80, 0x02, 0x4E, 0x4E, 0x73, 0x2E],  // SETITEM on None
            [0x80, 0x02, 0x4E, 0x29, 0x52, 0x2E],  // REDUCE of None
            [0x80, 0x02, 0x4A, 0x01],  // BININT cut short
            [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41],  // string longer than the file
        ]
        for (index, stream) in streams.enumerated() {
            let url = try directory.write(TorchPickleTests.checkpoint(pickle: stream, storages: [:]), name: "s\(index).pth")
            #expect(throws: CheckpointError.self, "stream \(index)") { try CheckpointReader.load(url) }
        }
    }

    @Test("deep nesting and cycles are refused before they can overflow the stack")
    func nesting() throws {
        let directory = try TemporaryDirectory()
        let streams: [(String, [UInt8])] = [
            // None wrapped in a million TUPLE1s: freeing such a value would recurse a million deep.
            ("tuples", [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]),
            // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: a list inside itself.
            ("cycle", [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]),
            // L0 = []; L1 = []; L0.append(L1); L1.append([]) - growing a list after nesting it.
            ("regrow", [0x80, 0x02, 0x5D, 0x5D, 0x71, 0x01, 0x61, 0x68, 0x01, 0x5D, 0x61, 0x30, 0x2E]),
        ]
        for (name, stream) in streams {
            let url = try directory.write(TorchPickleTests.checkpoint(pickle: stream, storages: [:]), name: "\(name).pth")
            #expect(Comment(rawValue: name)) { try CheckpointReader.load(url) } throws: { error in
                if case CheckpointError.malformedPickle = error { true } else { false }
            }
        }
        // A list nested in a list, built in the normal order, is fine (it is just not a state dict).
        let normal = [UInt8]([0x80, 0x02, 0x5D, 0x5D, 0x61, 0x2E])
        let url = try directory.write(TorchPickleTests.checkpoint(pickle: normal, storages: [:]), name: "normal.pth")
        #expect { try CheckpointReader.load(url) } throws: { error in
            if case CheckpointError.notAStateDict = error { true } else { false }
        }
    }

    static let fixtureFiles = [
        "codeformer/codeformer_tiny.pth",
        "facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth",
        "facelib/retinaface_mnet/mnet_module_prefixed_zip.pth",
    ]

    @Test("truncated checkpoints give a typed error at every cut", arguments: fixtureFiles)
    func truncated(_ path: String) throws {
        guard Fixtures.available(path) else { return }
        let original = try [UInt8](Data(contentsOf: Fixtures.url(path)))
        let directory = try TemporaryDirectory()
        var cuts = [0, 1, 2, 3, 5, 11, 20, 64, 137, 500, original.count - 1, original.count - 22, original.count - 23]
        cuts += (1..<40).map { original.count * $0 / 40 }
        var failures = 0
        for cut in cuts where cut >= 0 && cut < original.count {
            let url = try directory.write(Array(original[..<cut]), name: "cut.pth")
            do {
                _ = try CheckpointReader.load(url)
                failures += 1
            } catch let error as CheckpointError {
                if error.description.isEmpty { failures += 1 }
            } catch {
                failures += 1
            }
        }
        #expect(failures == 0, "\(failures) cuts of \(path) loaded or gave an untyped error")
    }

    @Test("legacy file with damaged bytes never crashes",
          .enabled(if: Fixtures.available("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")))
    func corruptedLegacy() throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.url("facelib/retinaface_mnet/detection_mobilenet0.25_Final.pth")))
        let directory = try TemporaryDirectory()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        var errors = 0, loads = 0
        // Damage only the pickles (the first ~50 kB), where a flip changes structure rather than a weight.
        for _ in 0..<300 {
            var damaged = original
            for _ in 0..<3 { damaged[Int(next() % 49_600)] = UInt8(truncatingIfNeeded: next()) }
            let url = try directory.write(damaged, name: "flip.pth")
            do {
                _ = try CheckpointReader.load(url)
                loads += 1
            } catch is CheckpointError {
                errors += 1
            }
        }
        #expect(errors + loads == 300)
        #expect(errors > 0)
    }
}
