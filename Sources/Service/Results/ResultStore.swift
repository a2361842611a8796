import Foundation
import Logging
#if canImport(Glibc)
import Glibc
// Optimised builds of Swift 6.3 on Linux attribute `struct stat` and `timespec` to Dispatch's C
// module, and MemberImportVisibility then asks for it by name.
#if canImport(CDispatch)
import CDispatch
#endif
#elseif canImport(Darwin)
import Darwin
#endif

/// The results folder: result PNGs are written here atomically and served from here, and nothing
/// else is. Names are `api_result_<uuid>.png`; a file is written under a hidden temporary name and
/// renamed into place, so a reader never sees half a PNG and a failed batch leaves nothing behind.
/// Every operation goes through a descriptor of the folder (`openat` with `O_NOFOLLOW`), so a name
/// can never reach outside it, neither with `..` nor through a symlink; the descriptor follows the
/// folder when it is deleted and created again (`ResultsFolder`), and a write creates it again
/// when it is missing.
final class ResultStore: @unchecked Sendable {
    /// The folder, with symlinks in its own path resolved once at start-up.
    let directory: URL
    let retention: Duration
    private let folder: ResultsFolder
    private let logger: Logger
    private let lock = NSLock()
    private var tally = ResultStoreTally()

    /// Creates and opens the folder, removes temporaries a previous run left behind and counts
    /// what is there. A folder that cannot be created, opened or written stops the start-up.
    init(directory path: String, retention: Duration, logger: Logger = Logger(label: "facerestore.results")) throws {
        do {
            try ResultsFolder.create(path)
        } catch let error as ResultStoreError {
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: error.reason)
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL
        do {
            folder = try ResultsFolder(path: resolved.path, logger: logger)
        } catch let error as ResultStoreError {
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: error.reason)
        }
        guard access(resolved.path, W_OK) == 0 else {
            throw ConfigurationError.resultsFolderUnusable(path: path, reason: "it is not writable")
        }
        self.directory = resolved
        self.retention = retention
        self.logger = logger
        let removed = scan(now: Date(), removingEveryTemporary: true).temporaries
        if removed > 0 { logger.notice("removed \(removed) temporary file(s) left by an earlier run from the results folder") }
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

    /// Whether `name` is one of the store's temporary files (`.api_result_<uuid>.png.<tag>.tmp`).
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".\(prefix)") && name.hasSuffix(".tmp")
    }

    /// Writes every file or none: all go to temporary files first, then are renamed into place; on
    /// any failure the temporaries and the files already renamed are removed, and what was stored
    /// before is left as it was. A missing folder is created again first. Throws
    /// `ResultStoreError`, whose `serviceError` is the client's 507.
    func writeAll(_ files: [(name: String, data: Data)]) throws {
        for file in files { precondition(Self.isServableName(file.name), "result name \(file.name)") }
        let neededBytes = files.reduce(0) { $0 + $1.data.count }
        do {
            do {
                try writeBatch(files, into: folder.current(creatingIfMissing: true))
            } catch let error as ResultStoreError where error.code == ENOENT {
                // The folder went away between opening it and writing into it: once more, into a new one.
                try writeBatch(files, into: folder.current(creatingIfMissing: true))
            }
        } catch let error as ResultStoreError {
            logger.warning("a result could not be stored: \(error)", metadata: ["folder": "\(directory.path)"])
            withTally {
                $0.lastFailure = .init(code: error.code, neededBytes: neededBytes, time: .now)
            }
            throw error
        }
        withTally {
            $0.files += files.count
            $0.bytes += neededBytes
            $0.lastFailure = nil
        }
    }

    private func writeBatch(_ files: [(name: String, data: Data)], into folder: FolderDescriptor) throws {
        var temporaries: [(temporary: String, final: String)] = []
        var renamed: [String] = []
        do {
            for file in files {
                let temporary = ".\(file.name).\(UUID().uuidString.prefix(8)).tmp"
                let descriptor = openat(folder.descriptor, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
                guard descriptor >= 0 else { throw ResultStoreError.writeFailed(errno) }
                // Listed before a byte is written: a write that fails half-way leaves a file to remove.
                temporaries.append((temporary, file.name))
                try Self.writeContents(file.data, to: descriptor)
            }
            for (temporary, final) in temporaries {
                guard renameat(folder.descriptor, temporary, folder.descriptor, final) == 0 else {
                    throw ResultStoreError.renameFailed(errno)
                }
                renamed.append(final)
            }
        } catch {
            for (temporary, final) in temporaries where !renamed.contains(final) { unlinkat(folder.descriptor, temporary, 0) }
            for name in renamed { unlinkat(folder.descriptor, name, 0) }
            throw error
        }
    }

    /// Writes `data` and closes the descriptor, whatever happens; a failing `close` counts too
    /// (some file systems report a full disk only there).
    private static func writeContents(_ data: Data, to descriptor: Int32) throws {
        var failure: Int32? = nil
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0 && failure == nil && errno != EINTR { failure = errno }
        if let failure { throw ResultStoreError.writeFailed(failure) }
    }

    /// The bytes of result `name`, or nil when there is no such regular file in the folder, it is a
    /// symlink, or it is older than the retention time (then it is removed on the spot, so the 404
    /// does not depend on when the sweeper last ran).
    func read(_ name: String, now: Date = Date()) -> Data? {
        guard Self.isServableName(name), let folder = try? folder.current() else { return nil }
        let descriptor = openat(folder.descriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        if isExpired(modified: Self.modificationDate(info), now: now) {
            if unlinkat(folder.descriptor, name, 0) == 0 { forget(size: Int(info.st_size)) }
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

    /// Removes results (and stale temporaries) older than the retention time from the folder as it
    /// is now, and recounts what stays; returns how many files went.
    @discardableResult
    func sweep(now: Date = Date()) -> Int {
        let counts = scan(now: now, removingEveryTemporary: false)
        return counts.expired + counts.temporaries
    }

    /// The folder's state for `/api/health`, from memory and a few system calls; never lists it.
    var health: ResultStoreHealth {
        ResultStoreProbe.health(path: directory.path, tally: withTally { $0 })
    }

    /// One pass over the folder: expired results and temporaries (every temporary at start-up)
    /// are removed, the rest counted into the tally. A missing folder holds nothing.
    private func scan(now: Date, removingEveryTemporary: Bool) -> (expired: Int, temporaries: Int) {
        guard let folder = try? folder.current() else {
            withTally { $0.files = 0; $0.bytes = 0 }
            return (0, 0)
        }
        guard let names = folder.names() else { return (0, 0) }
        var (expired, temporaries, files, bytes) = (0, 0, 0, 0)
        for name in names {
            let isResult = name.hasPrefix(Self.prefix)
            let isTemporary = Self.isTemporaryName(name)
            guard isResult || isTemporary, let info = folder.status(of: name), (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let stale = isExpired(modified: Self.modificationDate(info), now: now)
            if isTemporary && (stale || removingEveryTemporary) {
                if unlinkat(folder.descriptor, name, 0) == 0 { temporaries += 1 }
            } else if isResult && stale {
                if unlinkat(folder.descriptor, name, 0) == 0 { expired += 1 }
            } else if isResult {
                files += 1
                bytes += Int(info.st_size)
            }
        }
        withTally {
            $0.files = files
            $0.bytes = bytes
        }
        return (expired, temporaries)
    }

    private func forget(size: Int) {
        withTally {
            $0.files = max(0, $0.files - 1)
            $0.bytes = max(0, $0.bytes - size)
        }
    }

    private func withTally<T>(_ body: (inout ResultStoreTally) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&tally)
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

/// `read(2)`, under a name the store's own `read` does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
