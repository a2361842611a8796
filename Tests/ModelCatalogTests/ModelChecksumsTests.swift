import Foundation
import ModelCatalog
import Testing

@Suite("SHA-256 and model checksums")
struct ModelChecksumsTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors, also when fed in odd pieces")
    func vectors() throws {
        #expect(SHA256.hex(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var hasher = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 127, 1000, 7] {
            hasher.update(million[offset..<offset + size])
            offset += size
        }
        hasher.update(million[offset...])
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-checksums-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("records in sha256sum format, per relative path; verify matches, flags a changed byte, skips unrecorded files")
    func recordAndVerify() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checksums = ModelChecksums(directory: directory)
        let file = directory.appendingPathComponent("CodeFormer/codeformer.pth")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: file)
        #expect(try checksums.verify(file) == .unrecorded)
        let digest = try checksums.hashAndRecord(file)
        #expect(try String(contentsOf: checksums.recordURL, encoding: .utf8) == "\(digest)  CodeFormer/codeformer.pth\n")
        #expect(try checksums.verify(file) == .matches(digest: digest))
        try Data("weightz".utf8).write(to: file)
        #expect(throws: ModelChecksumError.self) { try checksums.verify(file) }
    }
}
