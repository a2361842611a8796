import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The database's announcements of job changes (`LISTEN facerestore_jobs`), handed to whoever in
/// this process waits on them: a synchronous request waiting for its job, an event stream, an idle
/// worker waiting for work. One connection listens for the whole process and listens again after
/// the database comes back; every waiter is woken then too, since announcements made meanwhile are
/// lost. Waiters always read the job again after waking, so a missed or extra wake-up is harmless.
package final class JobNotifications: Service, @unchecked Sendable {
    private let database: JobDatabase
    private let lock = NSLock()
    private var waiters: [Int: Waiter] = [:]
    private var nextKey = 0
    private var listening = false

    private struct Waiter {
        /// nil: every job; else that job only.
        let job: String?
        /// Only announcements of this state (nil: any).
        let state: JobState?
        let continuation: AsyncStream<Void>.Continuation
    }

    package init(database: JobDatabase) {
        self.database = database
    }

    /// Whether the listening connection is up now.
    package var isListening: Bool { lock.withLock { listening } }

    /// Wake-ups for changes of job `id` (nil: of any job), optionally only to `state`. Stop by
    /// cancelling the iterating task or dropping the stream.
    package func changes(of id: String?, to state: JobState? = nil) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let key = lock.withLock {
            defer { nextKey += 1 }
            waiters[nextKey] = Waiter(job: id, state: state, continuation: continuation)
            return nextKey
        }
        continuation.onTermination = { [weak self] _ in
            self?.lock.withLock { _ = self?.waiters.removeValue(forKey: key) }
        }
        return stream
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.database.client.withConnection { connection in
                        try await connection.listen(on: "facerestore_jobs") { notifications in
                            self.setListening(true)
                            for try await notification in notifications { self.deliver(notification.payload) }
                        }
                    }
                } catch {
                    if !Task.isCancelled {
                        self.database.logger.debug("job announcements interrupted; listening again", metadata: ["error": "\(error)"])
                    }
                }
                self.setListening(false)
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func setListening(_ value: Bool) {
        let wasListening = lock.withLock {
            defer { listening = value }
            return listening
        }
        // Up again after a gap: what was announced meanwhile is lost, so everyone looks again.
        if value && !wasListening { wakeAll() }
    }

    /// Wakes every waiter (e.g. after reconnecting).
    package func wakeAll() {
        for waiter in lock.withLock({ Array(waiters.values) }) { waiter.continuation.yield() }
    }

    /// `payload` is `<job id>:<state>`.
    private func deliver(_ payload: String) {
        guard let colon = payload.lastIndex(of: ":") else { return }
        let id = String(payload[..<colon])
        let state = JobState(rawValue: String(payload[payload.index(after: colon)...]))
        let matching = lock.withLock {
            waiters.values.filter { ($0.job == nil || $0.job == id) && ($0.state == nil || $0.state == state) }
        }
        for waiter in matching { waiter.continuation.yield() }
    }
}
