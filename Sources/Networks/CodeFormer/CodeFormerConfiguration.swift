import Foundation

/// CodeFormer's hyperparameters as found in a checkpoint. All but the head count follow from tensor
/// shapes; the head count comes from a sidecar JSON (`"n_head"`) next to the checkpoint, else the
/// official value 8.
public struct CodeFormerConfiguration: Sendable, Equatable {
    public static let defaultHeads = 8
    /// The reference hard-codes a 512x512 input.
    public static let imageSize = 512

    public var embedDim: Int
    public var heads: Int
    public var layers: Int
    public var codebookSize: Int
    public var codeDim: Int
    public var connectList: [String]
    public var latentSide: Int

    /// The head count from `<checkpoint>.json`, `<stem>.json` or `<stem>.config.json`, if one exists.
    public static func sidecarHeads(for checkpoint: URL) -> Int? {
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
