package import Foundation
import TensorCore

/// Full-size stand-in weights built from a manifest (fixtures' SYNTHETIC_WEIGHTS.md), so tests can run
/// the real network sizes without shipping or downloading real weights.
///
/// For tensor `k`, element `i`: `u = i * 2654435761 + k * 40503 + seed * 97 (mod 2^32)`,
/// `x = u / 2^32`, value = `Float(offset + scale * (2x - 1))` evaluated in Double and rounded once.
/// Integer (`int64`) tensors are zeros.
package enum SyntheticWeights {
    private struct Manifest: Decodable {
        let seed: Int
        let tensors: [Entry]
    }

    private struct Entry: Decodable {
        let k: Int
        let name: String
        let shape: [Int]
        let dtype: String
        let offset: Double
        let scale: Double
    }

    package static func load(manifest url: URL) throws -> StateDict {
        let file = url.lastPathComponent
        func malformed(_ reason: String) -> CheckpointError { .malformedManifest(file: file, reason: reason) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError.unreadable(file: file, reason: (error as NSError).localizedDescription)
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw malformed(Safetensors.summary(of: error))
        }

        var stateDict = StateDict(source: file)
        for entry in manifest.tensors {
            guard entry.shape.allSatisfy({ $0 >= 0 }) else { throw malformed("\(entry.name): negative dimension") }
            guard let count = TensorMaterializer.checkedElementCount(entry.shape) else {
                throw malformed("\(entry.name): shape \(entry.shape) is too large")
            }
            let tensor = try Tensor(zeros: entry.shape)
            let dtype: StorageDType
            switch entry.dtype {
            case "float32":
                dtype = .float32
                fill(tensor.data, count: count, k: entry.k, seed: manifest.seed, offset: entry.offset, scale: entry.scale)
            case "int64":
                dtype = .int64
            default:
                throw malformed("\(entry.name): dtype '\(entry.dtype)' (expected float32 or int64)")
            }
            try stateDict.insert(tensor, forKey: entry.name, dtype: dtype)
        }
        return stateDict
    }

    /// The value of element `i` of tensor `k`.
    package static func value(element i: Int, tensor k: Int, seed: Int, offset: Double, scale: Double) -> Float {
        let u = UInt32(truncatingIfNeeded: i) &* 2_654_435_761 &+ base(k: k, seed: seed)
        return Float(offset + scale * (2 * (Double(u) / 4_294_967_296.0) - 1))
    }

    private static func base(k: Int, seed: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: k) &* 40503 &+ UInt32(truncatingIfNeeded: seed) &* 97
    }

    /// Splits big tensors into chunks filled in parallel; each element depends only on its index.
    private static func fill(_ destination: UnsafeMutablePointer<Float>, count: Int, k: Int, seed: Int,
                             offset: Double, scale: Double) {
        let chunk = 1 << 18
        let chunks = (count + chunk - 1) / chunk
        let start = UInt(bitPattern: destination)
        let base = base(k: k, seed: seed)
        let body: @Sendable (Int) -> Void = { c in
            let out = UnsafeMutablePointer<Float>(bitPattern: start)!
            let lower = c * chunk, upper = min(count, lower + chunk)
            var u = UInt32(truncatingIfNeeded: lower) &* 2_654_435_761 &+ base
            for i in lower..<upper {
                out[i] = Float(offset + scale * (2 * (Double(u) / 4_294_967_296.0) - 1))
                u &+= 2_654_435_761
            }
        }
        if chunks <= 1 {
            if count > 0 { body(0) }
        } else {
            DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
        }
    }
}
