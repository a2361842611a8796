import Imaging
import ModelCatalog
import Restoration

/// What the service needs from a restoration back end: the pipeline in production; tests put a
/// stand-in here to check the HTTP contract (parameters, batches, files) without running networks.
protocol PhotoRestorer: Sendable {
    /// Which model files are usable, for `/api/health` and the 503 for a missing model.
    var inventory: ModelInventory { get }
    /// One photo; called on the inference thread, one at a time. `monitor` follows it and can stop
    /// it (`RestorationError.stopped`).
    func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor) throws -> RestorationResult
    /// Prepares for the first request (on the inference thread); nothing by default.
    func warmUp() throws
}

extension PhotoRestorer {
    func warmUp() throws {}
}

/// The real back end: the whole-photo pipeline over the models loaded at start-up.
struct PipelineRestorer: PhotoRestorer {
    let pipeline: FaceRestorationPipeline
    /// Taken once: the models do not change while the service runs.
    let inventory: ModelInventory

    init(models: FaceRestorationModels) {
        pipeline = FaceRestorationPipeline(models: models)
        inventory = ModelInventory(models)
    }

    func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor) throws -> RestorationResult {
        try pipeline.restore(image, options: options, monitor: monitor)
    }

    func warmUp() throws {
        try pipeline.models.warmUp()
    }
}

/// What a service without models answers with (it never gets work: its requests are refused by the
/// inventory first): every model missing.
struct UnavailableRestorer: PhotoRestorer {
    let inventory = ModelInventory(
        states: [ModelFiles.Model.codeformer, .detectionResNet50, .parsing, .realesrganX2plus].reduce(into: [:]) { $0[$1.fileName] = .missing },
        detectorFile: ModelFiles.Model.detectionResNet50.fileName)

    func restore(_ image: Image, options: RestorationOptions, monitor: RestorationMonitor) throws -> RestorationResult {
        throw ServiceError.modelMissing(file: ModelFiles.Model.codeformer.fileName)
    }
}
