package import Foundation
package import TensorCore

/// A `.npy` array (format 1.0/2.0, little-endian float32 or int32, C order), as the fixtures store them.
package struct NumpyArray {
    package enum DType: Sendable { case float32, int32 }
    package enum Failure: Error, CustomStringConvertible {
        case malformed(String, reason: String)
        package var description: String {
            switch self { case .malformed(let file, let reason): "\(file): not a supported .npy file: \(reason)" }
        }
    }

    package let shape: [Int]
    package let dtype: DType
    package let floats: [Float]
    package let ints: [Int32]

    package init(contentsOf url: URL) throws {
        let bytes = try Data(contentsOf: url)
        let name = url.lastPathComponent
        guard bytes.count > 10, bytes.prefix(6) == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
            throw Failure.malformed(name, reason: "missing magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        }
        guard let header = String(data: bytes[headerStart..<headerStart + headerLength], encoding: .ascii) else {
            throw Failure.malformed(name, reason: "header is not ASCII")
        }
        if header.contains("'fortran_order': True") { throw Failure.malformed(name, reason: "Fortran order") }
        if header.contains("'<f4'") {
            dtype = .float32
        } else if header.contains("'<i4'") {
            dtype = .int32
        } else {
            throw Failure.malformed(name, reason: "dtype in \(header)")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Failure.malformed(name, reason: "no shape")
        }
        shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let body = bytes[(headerStart + headerLength)...]
        guard body.count == count * 4 else { throw Failure.malformed(name, reason: "size mismatch") }
        switch dtype {
        case .float32:
            floats = body.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(count)) }
            ints = []
        case .int32:
            ints = body.withUnsafeBytes { Array($0.bindMemory(to: Int32.self).prefix(count)) }
            floats = []
        }
    }

    /// Loads a fixture `.npy` by its path under the fixtures root.
    package init(fixture relativePath: String) throws {
        try self.init(contentsOf: Fixtures.url(relativePath))
    }

    /// The float data as a contiguous tensor.
    package var tensor: Tensor { get throws { try Tensor(shape: shape, values: floats) } }
}
