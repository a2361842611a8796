import Foundation
import Imaging
import Testing

/// Minimal EXIF blocks for tests.
enum ExifSegment {
    /// A TIFF structure with one IFD0 entry: Orientation (0x0112, SHORT).
    static func tiff(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        let header: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        // An unrelated entry first (ImageWidth) so the parser has to walk the IFD.
        return header + u16(42) + u32(8) + u16(2)
            + u16(0x0100) + u16(3) + u32(1) + u16(24) + u16(0)
            + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
            + u32(0)
    }

    /// `jpeg` with an APP1 Exif segment inserted right after SOI.
    static func inserting(orientation: Int, bigEndian: Bool, into jpeg: Data) -> Data {
        let payload = Array("Exif".utf8) + [0, 0] + tiff(orientation: orientation, bigEndian: bigEndian)
        let length = payload.count + 2
        let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
        var out = Data(jpeg.prefix(2))
        out.append(contentsOf: segment)
        out.append(jpeg.dropFirst(2))
        return out
    }
}

@Suite("EXIF orientation")
struct ExifTests {
    /// Six 8x8 blocks, stored as  A B C / D E F.
    static let colors: [Character: [Int]] = [
        "A": [255, 0, 0], "B": [0, 255, 0], "C": [0, 0, 255], "D": [255, 255, 0], "E": [0, 255, 255], "F": [255, 0, 255],
    ]
    static let stored = ["ABC", "DEF"]
    /// What a viewer shows for each orientation.
    static let displayed: [Int: [String]] = [
        1: ["ABC", "DEF"], 2: ["CBA", "FED"], 3: ["FED", "CBA"], 4: ["DEF", "ABC"],
        5: ["AD", "BE", "CF"], 6: ["DA", "EB", "FC"], 7: ["FC", "EB", "DA"], 8: ["CF", "BE", "AD"],
    ]

    static func blockImage(_ layout: [String]) -> Image {
        let rows = layout.map(Array.init)
        let width = rows[0].count * 8, height = rows.count * 8
        var image = Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                let color = colors[rows[y / 8][x / 8]]!
                for c in 0..<3 { image[x, y, c] = color[c] }
            }
        }
        return image
    }

    @Test("all eight orientations, both byte orders", arguments: 1...8, [true, false])
    func orientation(value: Int, bigEndian: Bool) throws {
        let jpeg = try ImageEncoder.jpeg(Self.blockImage(Self.stored), quality: 100, chromaSubsampling420: false)
        let tagged = ExifSegment.inserting(orientation: value, bigEndian: bigEndian, into: jpeg)
        #expect(ExifOrientation.fromJPEG([UInt8](tagged)) == ExifOrientation(rawValue: value))
        let decoded = try ImageDecoder.decode(tagged)
        let expected = Self.blockImage(Self.displayed[value]!)
        #expect(decoded.width == expected.width && decoded.height == expected.height)
        guard decoded.width == expected.width && decoded.height == expected.height else { return }
        #expect(TestImages.difference(decoded, expected).max <= 12)
        #expect(try ImageDecoder.decode(tagged, applyOrientation: false).width == 24)
    }

    @Test("malformed EXIF is ignored, not fatal")
    func malformed() throws {
        let jpeg = try ImageEncoder.jpeg(Self.blockImage(Self.stored))
        var broken = [UInt8](ExifSegment.inserting(orientation: 6, bigEndian: true, into: jpeg))
        broken[14 + 4] = 0x7F   // IFD offset far outside the block
        #expect(ExifOrientation.fromJPEG(broken) == nil)
        #expect(try ImageDecoder.decode(Data(broken)).width == 24)
        #expect(ExifOrientation.fromTIFF([UInt8]([0x4D, 0x4D, 0, 42])) == nil)
        #expect(ExifOrientation.fromTIFF(ExifSegment.tiff(orientation: 9, bigEndian: true)) == nil)
    }
}
