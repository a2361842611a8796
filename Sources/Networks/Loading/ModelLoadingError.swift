/// Why a checkpoint cannot become a network. Each case names the file and the key at fault so the
/// user can tell a wrong file from a damaged one.
package enum ModelLoadingError: Error, CustomStringConvertible, Equatable {
    case missingKey(file: String, key: String)
    case shapeMismatch(file: String, key: String, expected: [Int], actual: [Int])
    case unusedKeys(file: String, keys: [String])
    case unsupportedArchitecture(file: String, reason: String)

    package var description: String {
        switch self {
        case .missingKey(let file, let key):
            "\(file): missing tensor '\(key)' (is this the right model file?)"
        case .shapeMismatch(let file, let key, let expected, let actual):
            "\(file): tensor '\(key)' has shape \(actual), expected \(expected)"
        case .unusedKeys(let file, let keys):
            "\(file): \(keys.count) unexpected tensor(s), e.g. '\(keys.prefix(3).joined(separator: "', '"))' (is this the right model file?)"
        case .unsupportedArchitecture(let file, let reason):
            "\(file): unsupported architecture: \(reason)"
        }
    }
}
