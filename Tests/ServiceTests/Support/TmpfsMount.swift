import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted over a folder for one test, to make a full or read-only disk for real
/// (root only: `chmod` does not stop root). `unmount()` detaches it lazily, so it works even while
/// the server under test still holds the folder open; tests call it in `defer`.
final class TmpfsMount: @unchecked Sendable {
    let directory: URL
    private var mounted = true

    /// Mounts a tmpfs of `size` (mount's syntax, e.g. `1m`) over `directory` (created if needed).
    /// Nil when mounting is not possible here (not root, no mount permission); under CI that is
    /// recorded as a failure, since CI runs as root on this kind of machine.
    static func mount(over directory: URL, size: String = "1m") -> TmpfsMount? {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (status, output) = run(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", directory.path])
        guard status == 0 else {
            if Fixtures.isCI { Issue.record("cannot mount a tmpfs under CI: \(output)") }
            return nil
        }
        return TmpfsMount(directory: directory)
    }

    private init(directory: URL) {
        self.directory = directory
    }

    deinit {
        unmount()
    }

    /// Remounts read-only (`true`) or read-write.
    func remount(readOnly: Bool) throws {
        let (status, output) = Self.run(["mount", "-o", "remount,\(readOnly ? "ro" : "rw")", directory.path])
        guard status == 0 else { throw TmpfsMountError.failed(output) }
    }

    func unmount() {
        guard mounted else { return }
        mounted = false
        _ = Self.run(["umount", "-l", directory.path])
    }

    /// Fills the file system with a file named `name` until it is full; returns the bytes written.
    @discardableResult
    func fill(name: String = "filler") -> Int {
        let descriptor = open(directory.appendingPathComponent(name).path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
            if written <= 0 { break }
            total += written
        }
        return total
    }

    /// Runs a command (found on PATH) and returns its exit status and output.
    static func run(_ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (-1, "\(error)")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

enum TmpfsMountError: Error {
    case failed(String)
}
