import Foundation
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

/// The results folder as `/api/health` reports it: whether a result can be written now (and if not,
/// why), how many results it holds and how much space is left. `reason` is present only when
/// unwritable; `free_bytes` only when the file system answers.
struct ResultStoreHealth: JSONRepresentable, Equatable, Sendable {
    enum State: String, Sendable {
        case writable, unwritable
    }

    var state: State
    var reason: String?
    var files: Int
    var bytes: Int
    var freeBytes: Int?

    var json: JSONDocument {
        var members: [(String, JSONDocument)] = [("state", .string(state.rawValue))]
        if let reason { members.append(("reason", .string(reason))) }
        members.append(("files", .int(files)))
        members.append(("bytes", .int(bytes)))
        if let freeBytes { members.append(("free_bytes", .int(freeBytes))) }
        return .object(members)
    }
}

/// What the store keeps in memory for its health: the results it holds (recounted by every sweep,
/// kept up to date by writes and removals in between, so health never lists the folder) and the
/// last write that failed, until one succeeds.
struct ResultStoreTally: Sendable {
    var files = 0
    var bytes = 0
    var lastFailure: WriteFailure?

    struct WriteFailure: Sendable {
        var code: Int32
        /// The bytes the failed batch needed: out of space, the folder counts as unwritable until
        /// at least that much is free again.
        var neededBytes: Int
        var time: ContinuousClock.Instant
    }
}

/// Works out `ResultStoreHealth` from the tally and three cheap system calls on the folder's path
/// (`lstat`, `access`, `statvfs`): microseconds, whatever the number of files.
enum ResultStoreProbe {
    /// How long a failure that no probe can see (an I/O error, say) is reported after it happened,
    /// unless a write succeeds first.
    static let failureMemory: Duration = .seconds(600)

    static func health(path: String, tally: ResultStoreTally, now: ContinuousClock.Instant = .now) -> ResultStoreHealth {
        var info = stat()
        let present = lstat(path, &info) == 0
        // A missing folder is created again by the next write: judge where it would be created.
        let probed = present ? path : nearestExistingAncestor(of: path)
        let free = freeBytes(at: probed)
        var reason: String?
        if present && (info.st_mode & S_IFMT) != S_IFDIR {
            reason = ResultStoreError.words(for: ENOTDIR)
        } else if access(probed, W_OK) != 0 {
            reason = ResultStoreError.words(for: errno)
        } else if free == 0 {
            reason = ResultStoreError.words(for: ENOSPC)
        } else if let failure = tally.lastFailure, now - failure.time < failureMemory {
            if isOutOfSpace(failure.code) {
                if let free, free < failure.neededBytes { reason = ResultStoreError.words(for: failure.code) }
            } else if !probeSees(failure.code) {
                reason = ResultStoreError.words(for: failure.code)
            }
        }
        return ResultStoreHealth(state: reason == nil ? .writable : .unwritable, reason: reason,
                                 files: present ? tally.files : 0, bytes: present ? tally.bytes : 0, freeBytes: free)
    }

    static func isOutOfSpace(_ code: Int32) -> Bool {
        code == ENOSPC || code == EDQUOT
    }

    /// Failures the probe finds by itself, so that it also sees when they are over (a folder made
    /// writable again, a file system remounted read-write).
    private static func probeSees(_ code: Int32) -> Bool {
        [EROFS, EACCES, EPERM, ENOENT, ENOTDIR, ELOOP].contains(code)
    }

    /// Bytes an unprivileged writer may still use there, or nil if the file system does not say.
    static func freeBytes(at path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = Int(clamping: info.f_bavail).multipliedReportingOverflow(by: Int(clamping: info.f_frsize))
        return overflow ? Int.max : bytes
    }

    private static func nearestExistingAncestor(of path: String) -> String {
        var candidate = path
        var info = stat()
        while candidate.count > 1 && lstat(candidate, &info) != 0 {
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return candidate.isEmpty ? "/" : candidate
    }
}
