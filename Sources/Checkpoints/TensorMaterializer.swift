import TensorCore

/// Turns a strided window into a storage (what a pickled tensor is) into an owned contiguous float32
/// tensor. All geometry is validated with overflow-checked arithmetic before any byte is read, so a
/// hostile size/stride/offset becomes an error instead of an out-of-bounds read.
enum TensorMaterializer {
    /// Tensors larger than this (2^31 elements, 8 GiB as float32) are refused rather than allocated.
    static let maximumElementCount = 1 << 31
    /// Limit for tensors whose elements overlap in storage (256 MiB as float32).
    static let maximumOverlappingElementCount = 1 << 26

    /// The element count of `shape` (non-negative extents), or nil when it overflows or exceeds
    /// `maximumElementCount`.
    static func checkedElementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= maximumElementCount else { return nil }
            count = product
        }
        return count
    }

    /// - Parameters:
    ///   - storageBytes: the whole root storage the reference points into.
    static func materialize(_ reference: TensorReference, key: String, file: String,
                            storageBytes: UnsafeRawBufferPointer, bigEndian: Bool) throws -> (Tensor, StorageDType) {
        let kind = reference.storage.kind
        guard let dtype = kind.dtype else {
            throw CheckpointError.unsupportedDType(file: file, key: key, dtype: kind.dtypeName)
        }
        func invalid(_ reason: String) -> CheckpointError { .invalidTensorGeometry(file: file, key: key, reason: reason) }
        let size = reference.size, stride = reference.stride
        guard size.count == stride.count else { throw invalid("size \(size) and stride \(stride) differ in rank") }
        guard size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw invalid("negative size or stride (size \(size), stride \(stride))")
        }
        guard reference.storageOffset >= 0 else { throw invalid("negative storage offset \(reference.storageOffset)") }

        guard let count = checkedElementCount(size) else { throw invalid("size \(size) is too large") }
        if count == 0 { return (try Tensor(zeros: size), dtype) }

        // Highest element index touched, relative to the start of the root storage.
        var last = reference.storageOffset
        let (base, baseOverflow) = last.addingReportingOverflow(reference.storage.elementOffset)
        guard !baseOverflow else { throw invalid("storage offset is too large") }
        last = base
        for (extent, step) in zip(size, stride) {
            let (span, spanOverflow) = (extent - 1).multipliedReportingOverflow(by: step)
            let (sum, sumOverflow) = last.addingReportingOverflow(span)
            guard !spanOverflow, !sumOverflow else { throw invalid("strides \(stride) overflow") }
            last = sum
        }
        let (elementsNeeded, neededOverflow) = last.addingReportingOverflow(1)
        let (neededBytes, bytesOverflow) = elementsNeeded.multipliedReportingOverflow(by: dtype.byteSize)
        guard !neededOverflow, !bytesOverflow else { throw invalid("strides \(stride) overflow") }
        // Only overlapping (e.g. expanded, stride 0) tensors have more elements than their storage span;
        // cap those so a few bytes of storage cannot demand gigabytes of output.
        guard count <= elementsNeeded || count <= maximumOverlappingElementCount else {
            throw invalid("size \(size) with stride \(stride) expands \(elementsNeeded) stored elements to \(count)")
        }
        guard neededBytes <= storageBytes.count else {
            throw CheckpointError.storageTooSmall(file: file, key: key, storage: reference.storage.key,
                                                  neededBytes: neededBytes, availableBytes: storageBytes.count)
        }

        let tensor = try Tensor(zeros: size)
        let source = storageBytes.baseAddress! + base * dtype.byteSize
        let destination = tensor.data
        if isRowMajor(size: size, stride: stride) {
            ElementConversion.convert(source, dtype: dtype, bigEndian: bigEndian, count: count, stride: 1, into: destination)
            return (tensor, dtype)
        }

        // Strided: convert one innermost row at a time, stepping an odometer over the outer dimensions.
        let rank = size.count
        let rowLength = size[rank - 1]
        let rowStride = stride[rank - 1]
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var sourceElement = 0
        var written = 0
        while written < count {
            ElementConversion.convert(source + sourceElement * dtype.byteSize, dtype: dtype, bigEndian: bigEndian,
                                      count: rowLength, stride: rowStride, into: destination + written)
            written += rowLength
            var dimension = rank - 2
            while dimension >= 0 {
                index[dimension] += 1
                sourceElement += stride[dimension]
                if index[dimension] < size[dimension] { break }
                sourceElement -= stride[dimension] * size[dimension]
                index[dimension] = 0
                dimension -= 1
            }
        }
        return (tensor, dtype)
    }

    /// Whether the strides are the row-major ones (dimensions of extent 1 may have any stride).
    static func isRowMajor(size: [Int], stride: [Int]) -> Bool {
        var expected = 1
        for dimension in size.indices.reversed() where size[dimension] != 1 {
            if stride[dimension] != expected { return false }
            expected *= size[dimension]
        }
        return true
    }
}
