import Foundation
import JobDatabase

/// The cluster's live workers as the database knows them (their heartbeats), and the models they
/// can run together, cached for two seconds: the intake asks for every image of every request.
final class ClusterWorkerDirectory: @unchecked Sendable {
    let database: JobDatabase
    /// A worker not heard from for this long counts as gone.
    let window: Duration
    private let lock = NSLock()
    private var cached: (at: ContinuousClock.Instant, inventories: [ModelInventory])?

    init(database: JobDatabase, window: Duration) {
        self.database = database
        self.window = window
    }

    /// How many workers are alive.
    func liveCount() async throws -> Int {
        try await inventories().count
    }

    /// What the live workers can run between them: a file counts as loaded when any worker has it
    /// loaded. nil when no worker is alive.
    func combinedInventory() async throws -> ModelInventory? {
        let inventories = try await inventories()
        guard let first = inventories.first else { return nil }
        var states = first.states
        for inventory in inventories.dropFirst() {
            for (file, state) in inventory.states where state == .loaded || states[file] == nil { states[file] = state }
        }
        return ModelInventory(states: states, detectorFile: first.detectorFile)
    }

    private func inventories() async throws -> [ModelInventory] {
        if let cached = lock.withLock({ cached }), ContinuousClock.now - cached.at < .seconds(2) { return cached.inventories }
        let inventories = try await database.liveWorkers(within: window).compactMap(ModelInventory.decode)
        lock.withLock { cached = (.now, inventories) }
        return inventories
    }
}

extension ModelInventory {
    private struct Stored: Codable {
        var states: [String: String]
        var detectorFile: String
    }

    /// As a worker announces it (`facerestore_workers.models`).
    var encoded: String {
        let stored = Stored(states: states.mapValues(\.rawValue), detectorFile: detectorFile)
        return String(decoding: (try? JSONEncoder().encode(stored)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ text: String) -> ModelInventory? {
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else { return nil }
        return ModelInventory(states: stored.states.compactMapValues(State.init(rawValue:)), detectorFile: stored.detectorFile)
    }
}
