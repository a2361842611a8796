import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Checkpoints are hundreds of megabytes; mapping lets the
/// loaders copy tensor bytes straight from the page cache without reading the file into a buffer first.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    let name: String
    private let mapping: UnsafeMutableRawPointer?

    init(_ url: URL) throws {
        name = url.lastPathComponent
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError.unreadable(file: name, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError.unreadable(file: name, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.unreadable(file: name, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw CheckpointError.unreadable(file: name, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        _ = madvise(pointer, size, MADV_WILLNEED)
        #endif
        mapping = pointer
        bytes = UnsafeRawBufferPointer(start: pointer, count: size)
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian unsigned integer of `width` bytes at `offset`; the caller has checked bounds.
    @inline(__always)
    func littleEndian(at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(self[offset + i]) << (8 * UInt64(i)) }
        return value
    }
}
