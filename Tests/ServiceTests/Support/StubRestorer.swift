import Foundation
import Imaging
import Restoration
@testable import Service

/// Stands in for the pipeline in the contract tests: returns the input scaled by the applied
/// upscale (nearest neighbour, alpha kept), records the options of every call, and can be made to
/// fail or to block until released (for the queue tests).
final class StubRestorer: PhotoRestorer, @unchecked Sendable {
    let inventory: ModelInventory
    private let lock = NSLock()
    private var calls: [(size: (Int, Int), options: RestorationOptions)] = []
    var failure: (any Error)?
    /// Run at the start of each call, in place of the networks' work: a test puts a real tensor
    /// operation here to take the tensor core's failure paths (out of memory, a layer oneDNN cannot build).
    var compute: (() throws -> Void)?
    /// When set, each call waits for a signal before returning.
    let gate: DispatchSemaphore?
    /// Signalled when a call starts.
    let started = DispatchSemaphore(value: 0)

    init(inventory: ModelInventory = .allLoaded, blocking: Bool = false, failure: (any Error)? = nil) {
        self.inventory = inventory
        self.gate = blocking ? DispatchSemaphore(value: 0) : nil
        self.failure = failure
    }

    /// The thread of each `warmUp()` call.
    private(set) var warmUpThreads: [String] = []

    func warmUp() { lock.withLock { warmUpThreads.append(ThreadName.current) } }

    var receivedOptions: [RestorationOptions] { lock.withLock { calls.map(\.options) } }
    var receivedSizes: [(Int, Int)] { lock.withLock { calls.map(\.size) } }

    /// Faces each call pretends to restore, each taking `faceDelay` and reporting to the monitor
    /// (which can stop the call between them, as the pipeline does).
    var faces = 1
    var faceDelay: Duration = .zero
    /// Faces finished over all calls.
    var facesDone: Int { lock.withLock { finishedFaces } }
    private var finishedFaces = 0

    func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor) throws -> RestorationResult {
        lock.withLock { calls.append(((image.width, image.height), options)) }
        started.signal()
        gate?.wait()
        if let failure { throw failure }
        try compute?()
        monitor.plan(faces: faces, backgroundMegapixels: nil, faceUpsample: false)
        for face in 0..<faces {
            try monitor.enter(.restore, face: face + 1, of: faces, done: RestorationMonitor.Weights.detect + Double(face) * RestorationMonitor.Weights.restorePerFace)
            if faceDelay > .zero { Thread.sleep(forTimeInterval: faceDelay.timeInterval) }
            lock.withLock { finishedFaces += 1 }
        }
        let applied = try FaceRestorationPipeline.plan(options, width: image.width, height: image.height)
        let scale = applied.upscale
        var output = Image(width: image.width * scale, height: image.height * scale, channels: image.channels, bitDepth: 8)
        for y in 0..<output.height {
            for x in 0..<output.width {
                for c in 0..<image.channels {
                    let value = image[x / scale, y / scale, c]
                    output[x, y, c] = image.bitDepth == 16 ? value >> 8 : value
                }
            }
        }
        return RestorationResult(image: output, facesFound: faces, facesRestored: faces, applied: applied, faces: [], inputWasGray: false)
    }
}
