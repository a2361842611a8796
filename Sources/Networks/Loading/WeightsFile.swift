package import Foundation

/// A network's weights on disk: a checkpoint as released (`.pth`, `.safetensors`), or a
/// synthetic-weights manifest (`.json`: full-size stand-in weights for tests and benchmarks).
package enum WeightsFile: Sendable, Equatable {
    case checkpoint(URL)
    case syntheticManifest(URL)

    /// The kind of `url`, from its extension: the one place a `.json` file means a manifest.
    package init(_ url: URL) {
        self = url.pathExtension.lowercased() == "json" ? .syntheticManifest(url) : .checkpoint(url)
    }

    package var url: URL {
        switch self {
        case .checkpoint(let url), .syntheticManifest(let url): url
        }
    }
}
