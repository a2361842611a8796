import Foundation
import Restoration

/// The inference queue as `/api/process` and `/api/jobs` use it: an accepted batch goes in, a
/// ticket comes out, every run is stopped by its deadline the same way for both, and every run
/// feeds the metrics (time waited, each stage's time, faces found and restored).
struct RestorationQueue: Sendable {
    let executor: InferenceExecutor
    let restorer: any PhotoRestorer
    let store: ResultStore
    let metrics: ServiceMetrics

    typealias Ticket = InferenceExecutor.Ticket<[BatchRestoration.Output]>

    /// Queues `batch` for `client` (503 + Retry-After when there is no place), reporting to
    /// `monitor`; `onStart` runs on the inference thread when the batch starts.
    func submit(_ batch: BatchRestoration, client: String?, monitor: RestorationMonitor,
                onStart: @escaping @Sendable () -> Void = {}) throws -> Ticket {
        let (restorer, store, metrics) = (self.restorer, self.store, self.metrics)
        let started: (Duration) -> Void = { waited in
            metrics.queueWait(seconds: waited.timeInterval)
            onStart()
        }
        return try executor.enqueue(client: client, monitor: monitor, onStart: started) {
            let outputs = try batch.run(restorer: restorer, store: store, monitor: monitor)
            for output in outputs {
                metrics.record(output.timings)
                metrics.faces(found: output.facesFound, restored: output.facesRestored)
            }
            return outputs
        }
    }
}

extension InferenceExecutor.Ticket {
    /// The value, with the work cancelled for `.deadline` once `limit` has passed (queued work
    /// leaves the queue, running work stops at its next face or tile), and for `.cancelled` when
    /// the waiting task is cancelled.
    func value(within limit: Duration) async throws -> Value {
        let timer = Task { [self] in
            try await Task.sleep(for: limit)
            cancel(.deadline)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await value()
        } onCancel: {
            cancel(.cancelled)
        }
    }
}
