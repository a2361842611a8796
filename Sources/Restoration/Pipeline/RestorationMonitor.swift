import Foundation

/// Lets whoever started a restoration follow it and stop it. The pipeline reports each stage here
/// and, before every face and every Real-ESRGAN tile, asks whether to go on (`checkpoint`): a stop
/// asked from another thread takes effect there, with `RestorationError.stopped`, so a long photo
/// never runs to the end for a client that is gone, a deadline that passed or a server going down.
///
/// Progress is a 0...1 estimate weighted by each stage's usual cost on a CPU (`Weights`); it only
/// moves forward.
package final class RestorationMonitor: @unchecked Sendable {
    /// Why a restoration was stopped.
    package enum StopReason: String, Sendable, Equatable {
        /// The caller asked (a cancelled job, a client that went away).
        case cancelled
        /// The request's or job's time ran out.
        case deadline
        /// The server is shutting down and its grace period is over.
        case shutdown
    }

    /// The parts of a restoration a caller can see.
    package enum Stage: String, Sendable, Equatable, CaseIterable {
        case decode, detect, restore, parse, paste, upsample, store
    }

    /// Where a restoration is: its stage, which image of a batch, which face, and how far (0...1)
    /// the whole batch is.
    package struct Progress: Sendable, Equatable {
        package var stage: Stage
        package var image: Int
        package var images: Int
        /// The face a per-face stage works on (1-based), and how many faces it will do.
        package var face: Int?
        package var faces: Int?
        package var fraction: Double

        package init(stage: Stage, image: Int = 1, images: Int = 1, face: Int? = nil, faces: Int? = nil, fraction: Double = 0) {
            self.stage = stage
            self.image = image
            self.images = images
            self.face = face
            self.faces = faces
            self.fraction = fraction
        }
    }

    /// Rough seconds each part of a photo takes on a 2-core CPU, only for weighing progress.
    package enum Weights {
        package static let detect = 0.4
        package static let restorePerFace = 1.5
        package static let pastePerFace = 0.3
        package static let upsamplePerMegapixel = 35.0
        package static let faceUpsamplePerFace = 9.0
    }

    private let lock = NSLock()
    /// When the restoration must stop by itself (`.deadline`), checked at every checkpoint; no
    /// timer is needed, so it holds however busy the rest of the process is.
    package let deadline: ContinuousClock.Instant?
    private let onProgress: @Sendable (Progress) -> Void
    private var reason: StopReason?
    private var current: Progress
    /// The photo being restored: its place in the batch and the estimated work done and in all.
    private var photoDone = 0.0
    private var photoTotal = 1.0

    /// - Parameters:
    ///   - deadline: when to stop with `.deadline` at the next checkpoint; nil: never.
    ///   - onProgress: called on the restoring thread at every change; keep it short.
    package init(deadline: ContinuousClock.Instant? = nil, onProgress: @escaping @Sendable (Progress) -> Void = { _ in }) {
        self.deadline = deadline
        self.onProgress = onProgress
        current = Progress(stage: .decode)
    }

    /// Asks the restoration to stop at its next checkpoint; the first reason given wins.
    package func stop(_ reason: StopReason) {
        lock.lock()
        if self.reason == nil { self.reason = reason }
        lock.unlock()
    }

    /// The reason a stop was asked for, if one was (a passed deadline counts).
    package var stopReason: StopReason? {
        if let deadline, ContinuousClock.now >= deadline { stop(.deadline) }
        lock.lock()
        defer { lock.unlock() }
        return reason
    }

    /// The latest progress.
    package var progress: Progress {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Throws `RestorationError.stopped` once a stop was asked for.
    package func checkpoint() throws {
        if let reason = stopReason { throw RestorationError.stopped(reason) }
    }

    /// Starts image `index` (1-based) of `count` at `stage` (decode or store, which the caller does).
    package func begin(_ stage: Stage, image index: Int, of count: Int) throws {
        try checkpoint()
        lock.lock()
        photoDone = 0
        photoTotal = 1
        let start = Double(index - 1) / Double(max(count, 1))
        let next = Progress(stage: stage, image: index, images: count, fraction: min(1, max(current.fraction, start)))
        current = next
        lock.unlock()
        onProgress(next)
    }

    /// Sets the estimated cost of the photo now known (after detection), in `Weights` seconds.
    package func plan(faces: Int, backgroundMegapixels: Double?, faceUpsample: Bool) {
        var total = Weights.detect + Double(faces) * (Weights.restorePerFace + Weights.pastePerFace)
        if let backgroundMegapixels { total += backgroundMegapixels * Weights.upsamplePerMegapixel }
        if faceUpsample { total += Double(faces) * Weights.faceUpsamplePerFace }
        lock.lock()
        photoTotal = max(total, photoDone)
        lock.unlock()
    }

    /// Enters `stage` (for `face` of `faces` when per face) after checking for a stop; `done` is the
    /// estimated work of this photo finished so far, in `Weights` seconds.
    package func enter(_ stage: Stage, face: Int? = nil, of faces: Int? = nil, done: Double) throws {
        try checkpoint()
        update { progress, photo in
            progress.stage = stage
            progress.face = face
            progress.faces = faces
            progress.fraction = photo(done)
        }
    }

    /// Names the stage now running inside the current one (ParseNet inside paste-back), keeping the
    /// face and the fraction.
    package func note(_ stage: Stage) {
        update { progress, _ in progress.stage = stage }
    }

    /// Updates the progress under the lock (`photo` turns this photo's done work into the batch's
    /// fraction, never backwards), then reports it outside the lock.
    private func update(_ change: (inout Progress, (Double) -> Double) -> Void) {
        lock.lock()
        var next = current
        let (image, images) = (current.image, current.images)
        change(&next) { done in
            self.photoDone = max(self.photoDone, min(done, self.photoTotal))
            let photo = self.photoTotal > 0 ? self.photoDone / self.photoTotal : 0
            return (Double(image - 1) + photo) / Double(max(images, 1))
        }
        next.fraction = min(1, max(current.fraction, next.fraction))
        current = next
        lock.unlock()
        onProgress(next)
    }
}
