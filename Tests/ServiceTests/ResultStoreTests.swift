import Foundation
import Logging
import Testing
import TestSupport
@testable import Service
import HTTPTypes
import JobDatabase

/// The results folder is no single point of failure: deleted, it is created again by the next
/// write; replaced by hand, the new one is used for writing, serving and sweeping; a failed write
/// leaves no temporaries and keeps what was stored; start-up removes leftovers; health knows.
@Suite("Result store: a folder that is deleted, replaced or full")
struct ResultStoreTests {
    /// A fresh store in a folder of its own; the caller removes `parent`.
    static func makeStore(retention: Duration = .seconds(60)) throws -> (store: ResultStore, parent: URL) {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-store-\(UUID().uuidString)")
        let store = try ResultStore(directory: parent.appendingPathComponent("results").path, retention: retention,
                                    logger: ServiceHarness.quietLogger)
        return (store, parent)
    }

    static func contents(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    @Test("a deleted folder is created again by the next write, and that result is served")
    func deletedFolderIsRecreated() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        let before = ResultStore.newFileName()
        try store.writeAll([(before, Data([1]))])
        try FileManager.default.removeItem(at: store.directory)
        #expect(store.read(before) == nil)
        #expect(store.health.state == .writable, "a missing folder is writable: the next write creates it")
        #expect(store.health.files == 0)

        let after = ResultStore.newFileName()
        try store.writeAll([(after, Data([2, 3]))])
        #expect(Self.contents(store.directory) == [after])
        #expect(store.read(after) == Data([2, 3]))
    }

    @Test("a folder deleted and created again by hand: new results go there and are served, not 404")
    func replacedFolderIsReopened() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        try store.writeAll([(ResultStore.newFileName(), Data([1]))])
        try FileManager.default.removeItem(at: store.directory)
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: false)

        let name = ResultStore.newFileName()
        try store.writeAll([(name, Data([4, 5, 6]))])
        #expect(Self.contents(store.directory) == [name])
        #expect(store.read(name) == Data([4, 5, 6]))

        // A file put into the new folder by other means is served as well: reads use the new folder.
        let copied = ResultStore.newFileName()
        try Data([7]).write(to: store.directory.appendingPathComponent(copied))
        #expect(store.read(copied) == Data([7]))
    }

    @Test("a folder replaced by a symlink is not followed: nothing is served or written through it")
    func folderReplacedBySymlink() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        let elsewhere = parent.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let name = ResultStore.newFileName()
        try Data([9]).write(to: elsewhere.appendingPathComponent(name))
        try FileManager.default.removeItem(at: store.directory)
        try FileManager.default.createSymbolicLink(at: store.directory, withDestinationURL: elsewhere)

        #expect(store.read(name) == nil)
        #expect(throws: ResultStoreError.folderUnusable(ENOTDIR)) { try store.writeAll([(ResultStore.newFileName(), Data([1]))]) }
        #expect(Self.contents(elsewhere) == [name])
        #expect(store.health.state == .unwritable && store.health.reason == "not a directory")
    }

    @Test("the sweeper works on the folder created again: expired files there go, the rest are counted")
    func sweeperFollowsTheFolder() throws {
        let (store, parent) = try Self.makeStore(retention: .seconds(60))
        defer { try? FileManager.default.removeItem(at: parent) }
        try store.writeAll([(ResultStore.newFileName(), Data([1]))])
        try FileManager.default.removeItem(at: store.directory)
        #expect(store.sweep() == 0, "a missing folder is nothing to sweep")
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: false)

        let old = ResultStore.newFileName()
        try Data(repeating: 1, count: 10).write(to: store.directory.appendingPathComponent(old))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)],
                                              ofItemAtPath: store.directory.appendingPathComponent(old).path)
        let fresh = ResultStore.newFileName()
        try Data(repeating: 2, count: 25).write(to: store.directory.appendingPathComponent(fresh))
        #expect(store.sweep() == 1)
        #expect(Self.contents(store.directory) == [fresh])
        #expect(store.health.files == 1 && store.health.bytes == 25)
    }

    @Test("start-up removes temporaries a previous run left behind, of any age, and counts the results")
    func leftoversRemovedAtStartUp() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let kept = ResultStore.newFileName()
        try Data(repeating: 3, count: 100).write(to: directory.appendingPathComponent(kept))
        let leftover = ".\(ResultStore.newFileName()).1a2b3c4d.tmp"
        try Data([1, 2]).write(to: directory.appendingPathComponent(leftover))
        try Data([1]).write(to: directory.appendingPathComponent("notes.txt"))

        let store = try ResultStore(directory: directory.path, retention: .seconds(60), logger: ServiceHarness.quietLogger)
        #expect(Self.contents(directory) == [kept, "notes.txt"].sorted())
        #expect(store.health.files == 1 && store.health.bytes == 100)
        #expect(store.health.state == .writable && store.health.reason == nil)
        #expect((store.health.freeBytes ?? 0) > 0)
    }

    @Test("writes and expiry keep the counts health reports up to date between sweeps")
    func countsFollowWrites() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        let names = (0..<3).map { _ in ResultStore.newFileName() }
        try store.writeAll(names.map { ($0, Data(repeating: 0, count: 10)) })
        #expect(store.health.files == 3 && store.health.bytes == 30)
        #expect(store.read(names[0], now: Date().addingTimeInterval(3600)) == nil)
        #expect(store.health.files == 2 && store.health.bytes == 20)
    }

    @Test("a write cut off by a full disk leaves no temporary, keeps earlier results and answers 'no space left on device'",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func writeCutOff() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        guard let disk = TmpfsMount.mount(over: store.directory, size: "256k") else { return }
        defer { disk.unmount() }
        let earlier = ResultStore.newFileName()
        try store.writeAll([(earlier, Data(repeating: 5, count: 1000))])

        // The first file fits and is written as a temporary; the second is cut off half-way by
        // the full disk. Neither may stay, and the earlier result must.
        let batch = [(ResultStore.newFileName(), Data(repeating: 1, count: 2000)), (ResultStore.newFileName(), Data(repeating: 2, count: 400_000))]
        #expect(throws: ResultStoreError.writeFailed(ENOSPC)) { try store.writeAll(batch) }
        #expect(Self.contents(store.directory) == [earlier])
        #expect(store.read(earlier) == Data(repeating: 5, count: 1000))
        #expect(ResultStoreError.writeFailed(ENOSPC).serviceError.status.code == 507)
        #expect(ResultStoreError.writeFailed(ENOSPC).serviceError.message
            == "the server could not store the result: no space left on device; nothing was kept, retry later")

        // Less is free than that batch needed: unwritable, until a write succeeds.
        #expect(store.health.state == .unwritable && store.health.reason == "no space left on device", "\(store.health)")
        let small = ResultStore.newFileName()
        try store.writeAll([(small, Data([1]))])
        #expect(store.health.state == .writable && store.health.reason == nil, "\(store.health)")
        #expect(store.health.files == 2)
    }

    @Test("a full disk: health says 'no space left on device' until space is freed, then writes succeed again",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func fullDisk() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        guard let disk = TmpfsMount.mount(over: store.directory, size: "256k") else { return }
        defer { disk.unmount() }
        disk.fill()
        let batch = [(ResultStore.newFileName(), Data(repeating: 1, count: 5000))]
        #expect(throws: ResultStoreError.writeFailed(ENOSPC)) { try store.writeAll(batch) }
        #expect(Self.contents(store.directory) == ["filler"])
        #expect(store.health.state == .unwritable && store.health.reason == "no space left on device", "\(store.health)")

        try FileManager.default.removeItem(at: store.directory.appendingPathComponent("filler"))
        #expect(store.health.state == .writable && store.health.reason == nil, "\(store.health)")
        try store.writeAll(batch)
        #expect(store.read(batch[0].0)?.count == 5000)
    }

    @Test("a read-only file system: the write fails with 'read-only file system'; health reports it, then recovers",
          .enabled(if: getuid() == 0 || Fixtures.isCI, "mounting a tmpfs needs root"))
    func readOnlyDisk() throws {
        let (store, parent) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: parent) }
        guard let disk = TmpfsMount.mount(over: store.directory, size: "256k") else { return }
        defer { disk.unmount() }
        try disk.remount(readOnly: true)
        #expect(throws: ResultStoreError.writeFailed(EROFS)) { try store.writeAll([(ResultStore.newFileName(), Data([1]))]) }
        #expect(store.health.state == .unwritable && store.health.reason == "read-only file system")
        try disk.remount(readOnly: false)
        #expect(store.health.state == .writable)
        #expect(Self.contents(store.directory).isEmpty)
    }
}
