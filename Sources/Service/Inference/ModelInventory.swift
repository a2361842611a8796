import ModelCatalog
import Restoration

/// The state of each model file the service uses, as `/api/health` reports it.
struct ModelInventory: Sendable, Equatable {
    enum State: String, Sendable {
        /// Loaded and in memory.
        case loaded
        /// No file of that name in the models folder.
        case missing
        /// The file is there but could not be used (damaged, wrong checksum, not that network).
        case unusable
    }

    /// File name to state, for the files this configuration uses (one detector).
    var states: [String: State]
    /// The detector file in use or wanted.
    var detectorFile: String

    init(states: [String: State], detectorFile: String) {
        self.states = states
        self.detectorFile = detectorFile
    }

    init(_ models: FaceRestorationModels) {
        func state(_ model: ModelFiles.Model, loaded: Bool) -> State {
            if loaded { return .loaded }
            return models.files.locate(model) == nil ? .missing : .unusable
        }
        let detector = models.detectorModel
        states = [
            ModelFiles.Model.codeformer.fileName: state(.codeformer, loaded: models.codeformer != nil),
            detector.fileName: state(detector, loaded: models.detector != nil),
            ModelFiles.Model.parsing.fileName: state(.parsing, loaded: models.parser != nil),
            ModelFiles.Model.realesrganX2plus.fileName: state(.realesrganX2plus, loaded: models.upsampler != nil),
        ]
        detectorFile = detector.fileName
    }

    /// Every file loaded: what a test stand-in reports.
    static let allLoaded = ModelInventory(
        states: [ModelFiles.Model.codeformer, .detectionResNet50, .parsing, .realesrganX2plus]
            .reduce(into: [:]) { $0[$1.fileName] = .loaded },
        detectorFile: ModelFiles.Model.detectionResNet50.fileName)

    /// The files a restoration with `options` needs, in the order a user should install them
    /// (`FaceRestorationPipeline.requiredModels`, the one rule).
    func required(for options: RestorationOptions) -> [String] {
        let detector = ModelFiles.Model.allCases.first { $0.fileName == detectorFile } ?? .detectionResNet50
        return FaceRestorationPipeline.requiredModels(for: options, detector: detector).map(\.fileName)
    }

    /// The first file `options` needs that is not loaded, and why.
    func firstUnavailable(for options: RestorationOptions) -> (file: String, state: State)? {
        required(for: options).lazy.map { ($0, self.states[$0] ?? .missing) }.first { $0.1 != .loaded }
    }

    /// The error for a file that is not loaded: not installed, or there but unusable.
    static func unavailableError(file: String, state: State) -> ServiceError {
        state == .unusable ? .modelUnusable(file: file) : .modelMissing(file: file)
    }
}
