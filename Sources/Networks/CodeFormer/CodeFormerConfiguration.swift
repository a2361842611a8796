package import Foundation

/// CodeFormer's hyperparameters as found in a checkpoint. All but the head count follow from tensor
/// shapes; the head count comes from a sidecar JSON (`"n_head"`) next to the checkpoint, else the
/// official value 8.
package struct CodeFormerConfiguration: Sendable, Equatable {
    package static let defaultHeads = 8
    /// The reference hard-codes a 512x512 input.
    package static let imageSize = 512

    package var embedDim: Int
    package var heads: Int
    package var layers: Int
    package var codebookSize: Int
    package var codeDim: Int
    package var connectList: [String]
    package var latentSide: Int

    /// The head count from `<checkpoint>.json`, `<stem>.json` or `<stem>.config.json`, if one exists.
    package static func sidecarHeads(for checkpoint: URL) -> Int? {
        let stem = checkpoint.deletingPathExtension()
        let candidates = [
            checkpoint.appendingPathExtension("json"),
            stem.appendingPathExtension("json"),
            stem.appendingPathExtension("config").appendingPathExtension("json"),
        ]
        for url in candidates {
            guard let data = try? Data(contentsOf: url),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let heads = object["n_head"] as? Int else { continue }
            return heads
        }
        return nil
    }
}
