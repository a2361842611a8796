import Testing
import Checkpoints

@Suite("Half precision")
struct HalfPrecisionTests {
    @Test("float16 bits -> float32 matches Swift's Float16 for all 65536 patterns, subnormals kept")
    func float16Exhaustive() {
        var mismatches = 0, subnormals = 0
        for bits in 0...UInt16.max {
            let ours = HalfPrecision.float(fromFloat16Bits: bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                if !ours.isNaN { mismatches += 1 }
            } else if ours.bitPattern != reference.bitPattern {
                mismatches += 1
            }
            if HalfPrecision.float16Table[Int(bits)].bitPattern != ours.bitPattern, !ours.isNaN { mismatches += 1 }
            if ours != 0, ours.isFinite, abs(ours) < 0x1p-14 { subnormals += 1 }
        }
        #expect(mismatches == 0)
        #expect(subnormals == 2 * 1023)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x83FF) == -1023 * 0x1p-24)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x3C00) == 1)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7C00) == .infinity)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x8000).bitPattern == (-0.0 as Float).bitPattern)
    }

    @Test("bfloat16 bits are the top half of a float32")
    func bfloat16() {
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x3F80) == 1)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0xC040) == -3)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x0001) == Float(bitPattern: 0x0001_0000))
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x7F80) == .infinity)
    }
}
