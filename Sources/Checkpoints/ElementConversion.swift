import Foundation

/// Copies runs of stored elements of any supported dtype into float32. This is the only code that
/// touches tensor bytes, so it is written over raw pointers with the dtype switch outside the loops;
/// source bytes are read unaligned because legacy files and zip members carry no alignment promise.
enum ElementConversion {
    /// Converts `count` elements starting at `source`, `stride` elements apart, into `destination`.
    static func convert(_ source: UnsafeRawPointer, dtype: StorageDType, bigEndian: Bool,
                        count: Int, stride: Int, into destination: UnsafeMutablePointer<Float>) {
        let step = stride * dtype.byteSize
        switch dtype {
        case .float32:
            if !bigEndian, stride == 1 {
                memcpy(destination, source, count * 4)
            } else {
                for i in 0..<count {
                    let bits = source.loadUnaligned(fromByteOffset: i * step, as: UInt32.self)
                    destination[i] = Float(bitPattern: bigEndian ? bits.byteSwapped : bits)
                }
            }
        case .float16:
            HalfPrecision.float16Table.withUnsafeBufferPointer { table in
                for i in 0..<count {
                    let bits = source.loadUnaligned(fromByteOffset: i * step, as: UInt16.self)
                    destination[i] = table[Int(bigEndian ? bits.byteSwapped : bits)]
                }
            }
        case .bfloat16:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: i * step, as: UInt16.self)
                destination[i] = HalfPrecision.float(fromBFloat16Bits: bigEndian ? bits.byteSwapped : bits)
            }
        case .float64:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: i * step, as: UInt64.self)
                destination[i] = Float(Double(bitPattern: bigEndian ? bits.byteSwapped : bits))
            }
        case .int64:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: i * step, as: Int64.self)
                destination[i] = Float(bigEndian ? bits.byteSwapped : bits)
            }
        case .int32:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: i * step, as: Int32.self)
                destination[i] = Float(bigEndian ? bits.byteSwapped : bits)
            }
        case .int16:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: i * step, as: Int16.self)
                destination[i] = Float(bigEndian ? bits.byteSwapped : bits)
            }
        case .int8:
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i * step, as: Int8.self)) }
        case .uint8:
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i * step, as: UInt8.self)) }
        case .bool:
            for i in 0..<count { destination[i] = source.load(fromByteOffset: i * step, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }
}
