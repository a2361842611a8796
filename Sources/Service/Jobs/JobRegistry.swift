import Foundation

/// The jobs of this process by id. A finished job is forgotten once the results' retention has
/// passed since it ended (its result files expire at the same time), so lookups then give 404.
final class JobRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: RestorationJob] = [:]

    func add(_ job: RestorationJob) {
        lock.withLock { jobs[job.id] = job }
    }

    /// The job with `id`, unless unknown or expired.
    func job(_ id: String, now: Date = Date()) -> RestorationJob? {
        guard let job = lock.withLock({ jobs[id] }) else { return nil }
        if job.hasExpired(at: now) {
            lock.withLock { _ = jobs.removeValue(forKey: id) }
            return nil
        }
        return job
    }

    /// Forgets expired jobs; returns how many.
    @discardableResult
    func sweep(now: Date = Date()) -> Int {
        lock.withLock {
            let expired = jobs.values.filter { $0.hasExpired(at: now) }.map(\.id)
            for id in expired { jobs.removeValue(forKey: id) }
            return expired.count
        }
    }

    /// How many jobs are in each state (expired ones not counted), for `/metrics`.
    func counts(now: Date = Date()) -> [RestorationJob.Status: Int] {
        var counts = Dictionary(uniqueKeysWithValues: RestorationJob.Status.allCases.map { ($0, 0) })
        for job in lock.withLock({ Array(jobs.values) }) where !job.hasExpired(at: now) {
            counts[job.currentStatus, default: 0] += 1
        }
        return counts
    }

    /// Ends the event streams of every job (the server is stopping).
    func endWatches() {
        for job in lock.withLock({ Array(jobs.values) }) { job.endWatches() }
    }
}
