/// Exact float16 / bfloat16 to float32 conversion. Every half value, subnormals included, is exactly
/// representable as a float32; flushing subnormals to zero (as some fast paths do) would change real
/// release weights (the fp16 Real-ESRGAN x4plus file has thousands of them).
package enum HalfPrecision {
    /// IEEE binary16 bits to float32, by bit manipulation.
    @inlinable
    package static func float(fromFloat16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits >> 15) << 31
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exact in float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        case 0x1F:
            // Infinity or NaN, payload kept.
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// bfloat16 is the top half of a float32.
    @inlinable
    package static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// All 65536 float16 values as float32: a table lookup is the fastest exact conversion.
    package static let float16Table: [Float] = (0...0xFFFF).map { float(fromFloat16Bits: UInt16($0)) }
}
