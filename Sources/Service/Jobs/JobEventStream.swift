import Foundation
import Hummingbird
import NIOCore

/// `GET /api/jobs/{id}/events`: the job's snapshots as Server-Sent Events (`id`, `event` = the
/// status, `data` = the job object on one line), ending after the final state. While the job
/// waits, its place in the queue is checked every second and sent when it moves; a comment line
/// every 15 s keeps proxies from closing a quiet stream.
struct JobEventStream: Sendable {
    /// The job's snapshots as it changes (`RestorationBackend.watchJob`).
    let snapshots: AsyncStream<JobSnapshot>
    /// The job now, for its place in the queue.
    let current: @Sendable () async -> JobSnapshot?
    var keepAliveInterval: Duration = .seconds(15)

    init(snapshots: AsyncStream<JobSnapshot>, keepAliveInterval: Duration = .seconds(15),
         current: @escaping @Sendable () async -> JobSnapshot?) {
        self.snapshots = snapshots
        self.keepAliveInterval = keepAliveInterval
        self.current = current
    }

    private enum Event: Sendable {
        case snapshot(JobSnapshot)
        case tick
    }

    func write(to writer: inout any ResponseBodyWriter) async throws {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let snapshots = self.snapshots
        // Child tasks (not unstructured ones): they run wherever this task is allowed to run.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await snapshot in snapshots { continuation.yield(.snapshot(snapshot)) }
                continuation.finish()
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    continuation.yield(.tick)
                }
            }
            defer { group.cancelAll() }
            try await send(events, to: &writer)
        }
    }

    /// Writes the events until the final state (or the end of the job's stream).
    private func send(_ events: AsyncStream<Event>, to writer: inout any ResponseBodyWriter) async throws {
        var sequence = 0
        var lastPlace: Int?
        var lastWrite = ContinuousClock.now
        for await event in events {
            switch event {
            case .snapshot(let snapshot):
                sequence += 1
                lastPlace = snapshot.queuePosition ?? lastPlace
                try await writer.write(ByteBuffer(string: Self.format(snapshot, id: sequence)))
                lastWrite = .now
                if snapshot.status.isFinal {
                    try await writer.finish(nil)
                    return
                }
            case .tick:
                if let snapshot = await current(), snapshot.status == .queued, let place = snapshot.queuePosition, place != lastPlace {
                    lastPlace = place
                    sequence += 1
                    try await writer.write(ByteBuffer(string: Self.format(snapshot, id: sequence)))
                    lastWrite = .now
                } else if ContinuousClock.now - lastWrite >= keepAliveInterval {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    lastWrite = .now
                }
            }
        }
        try await writer.finish(nil)
    }

    /// One event: `id`, `event` and `data` lines and a blank line.
    static func format(_ snapshot: JobSnapshot, id: Int) -> String {
        "id: \(id)\nevent: \(snapshot.status.rawValue)\ndata: \(snapshot.json.serialized)\n\n"
    }
}
