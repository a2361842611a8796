/// The member table of an uncompressed zip archive (the container torch.save has written since 1.6).
/// Only what a checkpoint needs: names and where each member's bytes sit in the file. Members are
/// never decompressed; torch writes them stored, so tensors can be copied straight from the map.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: Int
        let dataOffset: Int
        let size: Int
    }

    let entries: [Entry]
    private let index: [String: Int]

    private static let endOfCentralDirectory: UInt64 = 0x0605_4b50
    private static let zip64Locator: UInt64 = 0x0706_4b50
    private static let zip64EndOfCentralDirectory: UInt64 = 0x0606_4b50
    private static let centralHeader: UInt64 = 0x0201_4b50
    private static let localHeader: UInt64 = 0x0403_4b50

    init(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        func fail(_ reason: String) -> CheckpointError { .malformedZip(file: file, reason: reason) }
        func u(_ offset: Int, _ width: Int) throws -> Int {
            guard offset >= 0, offset <= bytes.count - width else {
                throw CheckpointError.truncated(file: file, what: "the zip directory (byte \(offset))")
            }
            let value = bytes.littleEndian(at: offset, width: width)
            guard value <= UInt64(Int.max) else { throw fail("value out of range at byte \(offset)") }
            return Int(value)
        }

        // The end record is the last 22 bytes plus an optional comment of up to 65535 bytes.
        guard bytes.count >= 22 else { throw CheckpointError.truncated(file: file, what: "the zip end record") }
        var eocd = -1
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while position >= lowest {
            if bytes[position] == 0x50, bytes.littleEndian(at: position, width: 4) == Self.endOfCentralDirectory {
                eocd = position
                break
            }
            position -= 1
        }
        guard eocd >= 0 else {
            throw CheckpointError.truncated(file: file, what: "the zip archive (no end-of-central-directory record)")
        }
        var entryCount = try u(eocd + 10, 2)
        var directorySize = try u(eocd + 12, 4)
        var directoryOffset = try u(eocd + 16, 4)
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, try u(locator, 4) == Int(Self.zip64Locator) else {
                throw fail("zip64 sizes without a zip64 locator")
            }
            let record = try u(locator + 8, 8)
            guard try u(record, 4) == Int(Self.zip64EndOfCentralDirectory) else {
                throw fail("zip64 end record signature missing at byte \(record)")
            }
            entryCount = try u(record + 32, 8)
            directorySize = try u(record + 40, 8)
            directoryOffset = try u(record + 48, 8)
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw CheckpointError.truncated(file: file, what: "the zip central directory")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(min(entryCount, 1 << 20))
        var index: [String: Int] = [:]
        var cursor = directoryOffset
        for _ in 0..<entryCount {
            guard try u(cursor, 4) == Int(Self.centralHeader) else {
                throw fail("central directory entry signature missing at byte \(cursor)")
            }
            let flags = try u(cursor + 8, 2)
            let method = try u(cursor + 10, 2)
            var compressedSize = try u(cursor + 20, 4)
            var size = try u(cursor + 24, 4)
            let nameLength = try u(cursor + 28, 2)
            let extraLength = try u(cursor + 30, 2)
            let commentLength = try u(cursor + 32, 2)
            var localOffset = try u(cursor + 42, 4)
            let nameStart = cursor + 46
            guard nameStart + nameLength + extraLength + commentLength <= bytes.count else {
                throw CheckpointError.truncated(file: file, what: "the zip central directory")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameStart + nameLength]),
                              as: UTF8.self)

            // Zip64 extended information: the 64-bit values for whichever 32-bit fields are saturated, in this order.
            var extra = nameStart + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try u(extra, 2)
                let length = try u(extra + 2, 2)
                guard extra + 4 + length <= extraEnd else { throw fail("extra field overruns entry \(name)") }
                if id == 0x0001 {
                    var field = extra + 4
                    func next() throws -> Int {
                        guard field + 8 <= extra + 4 + length else { throw fail("short zip64 field in entry \(name)") }
                        defer { field += 8 }
                        return try u(field, 8)
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                extra += 4 + length
            }
            guard flags & 1 == 0 else { throw fail("member \(name) is encrypted") }

            guard try u(localOffset, 4) == Int(Self.localHeader) else {
                throw fail("local header of \(name) missing at byte \(localOffset)")
            }
            let dataOffset = localOffset + 30 + (try u(localOffset + 26, 2)) + (try u(localOffset + 28, 2))
            if method == 0 {
                guard compressedSize == size else { throw fail("stored member \(name) has two different sizes") }
                guard dataOffset <= bytes.count, size <= bytes.count - dataOffset else {
                    throw CheckpointError.truncated(file: file, what: "member \(name)")
                }
            }
            if index[name] == nil { index[name] = entries.count }
            entries.append(Entry(name: name, method: method, dataOffset: dataOffset, size: size))
            cursor = nameStart + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }
}
