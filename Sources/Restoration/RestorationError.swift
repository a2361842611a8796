import Foundation

/// Why a restoration could not run or did not finish.
package enum RestorationError: Error, CustomStringConvertible, Equatable {
    case modelMissing(model: String, directory: String, releaseURL: String, license: String)
    case modelFileUnreadable(path: String, reason: String)
    case notImplemented(String)
    /// An image the restoration would make (`stage`, e.g. the enlarged photo) is over the pixel limit.
    case imageTooLarge(stage: String, width: Int, height: Int, limit: Int)
    /// The restoration was stopped at a checkpoint (`RestorationMonitor.stop`).
    case stopped(RestorationMonitor.StopReason)

    package var description: String {
        switch self {
        case .imageTooLarge(let stage, let width, let height, let limit):
            "\(stage) would be \(width)x\(height) = \(width.multipliedReportingOverflow(by: height).partialValue) pixels, over the limit of \(limit) pixels"
        case .modelMissing(let model, let directory, let url, let license):
            "\(model) not found in \(directory). Run `facerestore models download` or download it from \(url) (\(license)) into that folder, or point --models / FACERESTORE_MODELS at the folder that has it."
        case .modelFileUnreadable(let path, let reason):
            "cannot use the model file \(path): \(reason)"
        case .stopped(let reason):
            "the restoration was stopped (\(reason.rawValue))"
        case .notImplemented(let what):
            "\(what) is not available yet"
        }
    }
}
