import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The results folder: result PNGs are written here atomically and served from here, and nothing
/// else is. Names are `api_result_<uuid>.png`; a file is written under a hidden temporary name and
/// renamed into place, so a reader never sees half a PNG and a failed batch leaves nothing behind.
/// Reading goes through a descriptor of the folder opened once (`openat` with `O_NOFOLLOW`), so a
/// name can never reach outside it, neither with `..` nor through a symlink.
final class ResultStore: Sendable {
    /// The folder, with symlinks in its own path resolved once at start-up.
    let directory: URL
    let retention: Duration
    private let directoryDescriptor: Int32

    init(directory path: String, retention: Duration) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: error.localizedDescription)
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL
        let descriptor = open(resolved.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: String(cString: strerror(errno)))
        }
        guard access(resolved.path, W_OK) == 0 else {
            close(descriptor)
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: "it is not writable")
        }
        self.directory = resolved
        self.retention = retention
        self.directoryDescriptor = descriptor
    }

    deinit {
        close(directoryDescriptor)
    }

    static let prefix = "api_result_"

    /// A fresh result name: `api_result_<uuid>.png`.
    static func newFileName() -> String {
        "\(prefix)\(UUID().uuidString.lowercased()).png"
    }

    /// Whether `name` could be a file this store serves: a plain `.png` file name with no path
    /// separators, no leading dot (temporary files) and only unremarkable characters.
    static func isServableName(_ name: String) -> Bool {
        guard (5...255).contains(name.utf8.count), name.hasSuffix(".png"), !name.hasPrefix(".") else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        } && !name.contains("..")
    }

    /// Writes every file or none: all go to temporary files first, then are renamed into place; on
    /// any failure the temporaries and the files already renamed are removed.
    func writeAll(_ files: [(name: String, data: Data)]) throws {
        var temporaries: [(temporary: URL, final: URL)] = []
        var renamed: [URL] = []
        do {
            for file in files {
                precondition(Self.isServableName(file.name), "result name \(file.name)")
                let temporary = directory.appendingPathComponent(".\(file.name).\(UUID().uuidString.prefix(8)).tmp")
                try writeFile(file.data, to: temporary)
                temporaries.append((temporary, directory.appendingPathComponent(file.name)))
            }
            for (temporary, final) in temporaries {
                guard rename(temporary.path, final.path) == 0 else { throw ResultStoreError.renameFailed(errno) }
                renamed.append(final)
            }
        } catch {
            for (temporary, _) in temporaries { unlink(temporary.path) }
            for url in renamed { unlink(url.path) }
            throw error
        }
    }

    private func writeFile(_ data: Data, to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw ResultStoreError.writeFailed(errno) }
        defer { close(descriptor) }
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ResultStoreError.writeFailed(errno)
                }
                offset += written
            }
        }
    }

    /// The bytes of result `name`, or nil when there is no such regular file in the folder, it is a
    /// symlink, or it is older than the retention time (then it is removed on the spot, so the 404
    /// does not depend on when the sweeper last ran).
    func read(_ name: String, now: Date = Date()) -> Data? {
        guard Self.isServableName(name) else { return nil }
        let descriptor = openat(directoryDescriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        if isExpired(modified: Self.modificationDate(info), now: now) {
            unlinkat(directoryDescriptor, name, 0)
            return nil
        }
        var data = Data(count: Int(info.st_size))
        let complete = data.withUnsafeMutableBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = systemRead(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        return complete ? data : nil
    }

    func isExpired(modified: Date, now: Date) -> Bool {
        now.timeIntervalSince(modified) > retention.timeInterval
    }

    /// Removes results (and stale temporaries) older than the retention time; returns how many.
    @discardableResult
    func sweep(now: Date = Date()) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(Self.prefix) || (name.hasPrefix(".\(Self.prefix)") && name.hasSuffix(".tmp")) {
            var info = stat()
            guard fstatat(directoryDescriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                  (info.st_mode & S_IFMT) == S_IFREG,
                  isExpired(modified: Self.modificationDate(info), now: now) else { continue }
            if unlinkat(directoryDescriptor, name, 0) == 0 { removed += 1 }
        }
        return removed
    }

    private static func modificationDate(_ info: stat) -> Date {
        #if canImport(Darwin)
        let spec = info.st_mtimespec
        #else
        let spec = info.st_mtim
        #endif
        return Date(timeIntervalSince1970: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }
}

/// A result file could not be written; the request fails with 500 and the reason goes to the log.
enum ResultStoreError: Error, CustomStringConvertible {
    case writeFailed(Int32)
    case renameFailed(Int32)

    var description: String {
        switch self {
        case .writeFailed(let code): "writing a result failed: \(String(cString: strerror(code)))"
        case .renameFailed(let code): "renaming a result into place failed: \(String(cString: strerror(code)))"
        }
    }
}

/// `read(2)`, under a name the store's own `read` does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
