import Foundation
import Imaging

/// Small images made in code, so the contract tests need no fixture files.
enum TestImages {
    /// An RGB gradient (deterministic, compresses to a few hundred bytes).
    static func gradient(width: Int = 32, height: Int = 24, channels: Int = 3) -> Image {
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    pixels[(y * width + x) * channels + c] = c == 3 ? 200 : UInt8((x * 7 + y * 5 + c * 60) % 256)
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels8: pixels)
    }

    static func png(width: Int = 32, height: Int = 24, channels: Int = 3) -> Data {
        try! ImageEncoder.png(gradient(width: width, height: height, channels: channels))
    }

    static func jpeg(width: Int = 32, height: Int = 24) -> Data {
        try! ImageEncoder.jpeg(gradient(width: width, height: height))
    }

    /// A PNG that is only a signature and an IHDR claiming `width` x `height`: decoders that trust
    /// the header would allocate width x height x 4 bytes.
    static func pixelBomb(width: UInt32 = 100_000, height: UInt32 = 100_000) -> Data {
        var ihdr = [UInt8]("IHDR".utf8)
        for value in [width, height] { ihdr += withUnsafeBytes(of: value.bigEndian, Array.init) }
        ihdr += [8, 6, 0, 0, 0]  // 8-bit RGBA, deflate, no filter method, no interlace
        var data: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        data += withUnsafeBytes(of: UInt32(13).bigEndian, Array.init)
        data += ihdr
        data += withUnsafeBytes(of: crc32(ihdr).bigEndian, Array.init)
        return Data(data)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
