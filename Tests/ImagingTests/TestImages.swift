import Foundation
import Imaging
import TestSupport

/// Helpers shared by the imaging tests.
enum TestImages {
    static func load(_ fixture: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url(fixture)))
    }

    /// A deterministic pattern with every sample different enough to expose channel/axis mix-ups.
    static func pattern(width: Int, height: Int, channels: Int, bitDepth: Int = 8, seed: UInt64 = 1) -> Image {
        var state = seed &* 0x9E3779B97F4A7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let count = width * height * channels
        if bitDepth == 16 {
            return Image(width: width, height: height, channels: channels, pixels16: (0..<count).map { _ in UInt16(truncatingIfNeeded: next()) })
        }
        return Image(width: width, height: height, channels: channels, pixels8: (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) })
    }

    /// A smooth 8-bit RGB gradient (JPEG-friendly).
    static func gradient(width: Int, height: Int) -> Image {
        var p = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                p.append(UInt8(x * 255 / max(width - 1, 1)))
                p.append(UInt8(y * 255 / max(height - 1, 1)))
                p.append(UInt8((x + y) * 255 / max(width + height - 2, 1)))
            }
        }
        return Image(width: width, height: height, channels: 3, pixels8: p)
    }

    /// Count and maximum of differing samples.
    static func difference(_ a: Image, _ b: Image) -> (count: Int, max: Int) {
        precondition(a.sampleCount == b.sampleCount)
        var count = 0, maxDiff = 0
        for i in 0..<a.sampleCount {
            let d = a.bitDepth == 8 ? abs(Int(a.pixels8[i]) - Int(b.pixels8[i])) : abs(Int(a.pixels16[i]) - Int(b.pixels16[i]))
            if d > 0 { count += 1; maxDiff = max(maxDiff, d) }
        }
        return (count, maxDiff)
    }
}
