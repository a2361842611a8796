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

/// The results folder as a path and a descriptor of the directory that path names now.
///
/// Everything the store does goes through a descriptor (`openat`, `renameat`, `unlinkat` with
/// `O_NOFOLLOW`), so a name can never reach outside the folder. The descriptor is opened again
/// whenever the path stops naming the directory it holds: an operator who deletes the folder and
/// creates it again (or mounts a volume there) gets results written to and served from the new one,
/// not from the deleted directory the old descriptor still points at. Comparing device and inode
/// is enough: while the old directory is held open its inode cannot be reused.
final class ResultsFolder: @unchecked Sendable {
    /// The folder's path, with symlinks in it resolved once at start-up.
    let path: String
    private let logger: Logger
    private let lock = NSLock()
    private var held: FolderDescriptor

    /// Opens the folder, which must exist (`create` makes it).
    init(path: String, logger: Logger) throws(ResultStoreError) {
        self.path = path
        self.logger = logger
        held = try FolderDescriptor(opening: path)
    }

    /// The descriptor of the directory at `path` now: the one held while the path still names it,
    /// else a fresh one. A missing folder throws `.folderMissing`, or is created first (with a
    /// warning in the log) when `creatingIfMissing`; a path that is a symlink or not a directory is
    /// refused, never followed.
    func current(creatingIfMissing: Bool = false) throws(ResultStoreError) -> FolderDescriptor {
        var info = stat()
        if lstat(path, &info) != 0 {
            let code = errno
            guard code == ENOENT else { throw .folderUnusable(code) }
            guard creatingIfMissing else { throw .folderMissing }
            logger.warning("the results folder was missing; creating it again", metadata: ["path": "\(path)"])
            try Self.create(path)
            guard lstat(path, &info) == 0 else { throw .folderUnusable(errno) }
        }
        lock.lock()
        defer { lock.unlock() }
        if held.isSame(as: info) { return held }
        let fresh = try FolderDescriptor(opening: path)
        logger.notice("the results folder was replaced; using the new one", metadata: ["path": "\(path)"])
        // The old descriptor closes when the last operation still using it lets it go.
        held = fresh
        return fresh
    }

    /// `mkdir -p`, one component at a time so a failure has its errno.
    static func create(_ path: String) throws(ResultStoreError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw .folderUnusable(errno) }
        }
    }
}

/// One open descriptor of a results directory and the identity (device, inode) it was opened with;
/// closed when the last user lets it go, so swapping in a new one never closes a descriptor that
/// another thread is reading through.
final class FolderDescriptor: Sendable {
    let descriptor: Int32
    private let device: UInt64
    private let inode: UInt64

    init(opening path: String) throws(ResultStoreError) {
        // O_NOFOLLOW: the folder itself being replaced by a symlink is refused, not followed.
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw .folderUnusable(errno == ELOOP ? ENOTDIR : errno) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw .folderUnusable(code)
        }
        self.descriptor = descriptor
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    deinit {
        close(descriptor)
    }

    func isSame(as info: stat) -> Bool {
        UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// The names in the directory (without `.` and `..`), read through a descriptor of its own so
    /// concurrent listings do not share a position; nil when it cannot be read.
    func names() -> [String]? {
        let listing = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listing >= 0 else { return nil }
        guard let stream = fdopendir(listing) else {
            close(listing)
            return nil
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `fstatat` without following a symlink; nil when there is no such entry.
    func status(of name: String) -> stat? {
        var info = stat()
        return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }
}
