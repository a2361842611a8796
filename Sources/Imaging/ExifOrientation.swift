/// The EXIF orientation tag (0x0112): how the stored pixels must be turned to appear upright.
/// Cameras store sensor-order pixels and record the rotation here; OpenCV's `imread` applies it,
/// so the reference pipeline always sees upright images and so must we.
package enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

    /// True when the upright image has width and height swapped (orientations 5–8).
    package var swapsAxes: Bool { rawValue >= 5 }

    /// The orientation recorded in a JPEG's APP1 "Exif" segment, or nil. Reads only the markers
    /// before the first scan and never trusts an offset without checking it.
    package static func fromJPEG<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> ExifOrientation? where Bytes.Index == Int {
        let start = bytes.startIndex, end = bytes.endIndex
        guard end - start >= 4, bytes[start] == 0xFF, bytes[start + 1] == 0xD8 else { return nil }
        var p = start + 2
        while p + 4 <= end {
            guard bytes[p] == 0xFF else { return nil }
            let marker = bytes[p + 1]
            if marker == 0xFF { p += 1; continue }                      // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { p += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }          // scan data / end: no EXIF before it
            let length = Int(bytes[p + 2]) << 8 | Int(bytes[p + 3])
            guard length >= 2, p + 2 + length <= end else { return nil }
            let payload = p + 4, payloadEnd = p + 2 + length
            if marker == 0xE1, payloadEnd - payload >= 14,
               bytes[payload..<payload + 6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) {
                if let found = fromTIFF(bytes[(payload + 6)..<payloadEnd]) { return found }
            }
            p = payloadEnd
        }
        return nil
    }

    /// The orientation in a TIFF-structured EXIF block ("II*\0" / "MM\0*" header), as found after
    /// the JPEG "Exif\0\0" prefix or in a PNG eXIf chunk.
    package static func fromTIFF<Bytes: RandomAccessCollection<UInt8>>(_ tiff: Bytes) -> ExifOrientation? where Bytes.Index == Int {
        let base = tiff.startIndex, count = tiff.count
        guard count >= 8 else { return nil }
        let little: Bool
        switch (tiff[base], tiff[base + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= count else { return nil }
            let a = Int(tiff[base + offset]), b = Int(tiff[base + offset + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let hi = u16(little ? offset + 2 : offset), let lo = u16(little ? offset : offset + 2) else { return nil }
            return hi << 16 | lo
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for i in 0..<entries {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return nil }
            guard tag == 0x0112 else { continue }
            // SHORT (type 3), count 1: the value sits left-aligned in the 4-byte value field.
            guard u16(entry + 2) == 3, let value = u16(entry + 8) else { return nil }
            return ExifOrientation(rawValue: value)
        }
        return nil
    }
}

extension Image {
    /// The image as displayed under `orientation` (i.e. with the EXIF transform applied).
    package func applying(_ orientation: ExifOrientation) -> Image {
        if orientation == .up { return self }
        let w = width, h = height
        let outW = orientation.swapsAxes ? h : w, outH = orientation.swapsAxes ? w : h
        // For output (x, y): the stored pixel it shows.
        let source: (Int, Int) -> Int = switch orientation {
        case .up: { x, y in y * w + x }
        case .upMirrored: { x, y in y * w + (w - 1 - x) }
        case .down: { x, y in (h - 1 - y) * w + (w - 1 - x) }
        case .downMirrored: { x, y in (h - 1 - y) * w + x }
        case .leftMirrored: { x, y in x * w + y }
        case .right: { x, y in (h - 1 - x) * w + y }
        case .rightMirrored: { x, y in (h - 1 - x) * w + (w - 1 - y) }
        case .left: { x, y in x * w + (w - 1 - y) }
        }
        func remap<T>(_ pixels: [T]) -> [T] {
            let c = channels
            var out = pixels
            for y in 0..<outH {
                for x in 0..<outW {
                    let s = source(x, y) * c, d = (y * outW + x) * c
                    for k in 0..<c { out[d + k] = pixels[s + k] }
                }
            }
            return out
        }
        return bitDepth == 8
            ? Image(width: outW, height: outH, channels: channels, pixels8: remap(pixels8))
            : Image(width: outW, height: outH, channels: channels, pixels16: remap(pixels16))
    }
}
