/// Why a model file cannot be used where it was looked for.
package enum ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `model` (its release file name) is in neither `directory` nor its upstream subfolder.
    case missing(model: String, directory: String, releaseURL: String, license: String)

    package var description: String {
        switch self {
        case .missing(let model, let directory, let url, let license):
            "\(model) not found in \(directory). Run `facerestore models download` or download it from \(url) (\(license)) into that folder, or point --models / FACERESTORE_MODELS at the folder that has it."
        }
    }
}
