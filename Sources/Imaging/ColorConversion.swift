/// Channel-layout conversions. The face pipeline mirrors `cv2.imread(path, IMREAD_COLOR)`, which
/// always yields 3-channel 8-bit BGR: 16-bit samples are truncated (`v >> 8`, libpng's
/// `png_set_strip_16`), grey is replicated, alpha is dropped without compositing. We additionally keep
/// the alpha plane so it can be re-attached to the result.
package enum ChannelOrder: Sendable { case rgb, bgr }

extension Image {
    /// 8-bit samples: 16-bit values truncated to their high byte, as `IMREAD_COLOR` does.
    package func to8Bit() -> Image {
        if bitDepth == 8 { return self }
        return Image(width: width, height: height, channels: channels, pixels8: pixels16.map { UInt8($0 >> 8) })
    }

    /// The colour part as 3 channels in `order`, the way `IMREAD_COLOR` builds it (alpha dropped,
    /// grey replicated); bit depth is kept. Use `openCVColor()` for the full `imread` equivalent.
    package func color(order: ChannelOrder) -> Image {
        func convert<T>(_ p: [T]) -> [T] {
            let n = pixelCount
            if channels == 3 && order == .rgb { return p }
            var out = [T]()
            out.reserveCapacity(n * 3)
            switch channels {
            case 1, 2:
                for i in 0..<n { let v = p[i * channels]; out.append(v); out.append(v); out.append(v) }
            default:
                for i in 0..<n {
                    let b = i * channels
                    if order == .rgb { out.append(p[b]); out.append(p[b + 1]); out.append(p[b + 2]) }
                    else { out.append(p[b + 2]); out.append(p[b + 1]); out.append(p[b]) }
                }
            }
            return out
        }
        return bitDepth == 8
            ? Image(width: width, height: height, channels: 3, pixels8: convert(pixels8))
            : Image(width: width, height: height, channels: 3, pixels16: convert(pixels16))
    }

    /// Exactly what `cv2.imread(path, IMREAD_COLOR)` returns for the decoded file: 8-bit BGR.
    package func openCVColor() -> Image { to8Bit().color(order: .bgr) }

    /// Swaps channels 0 and 2 of a 3/4-channel image (RGB ⇄ BGR, RGBA ⇄ BGRA); others unchanged.
    package func swappingRedBlue() -> Image {
        guard channels >= 3 else { return self }
        var copy = self
        for i in 0..<pixelCount {
            let b = i * channels
            if bitDepth == 8 { copy.pixels8.swapAt(b, b + 2) } else { copy.pixels16.swapAt(b, b + 2) }
        }
        return copy
    }

    /// The alpha plane as a 1-channel image (same bit depth), or nil when there is none.
    package var alpha: Image? {
        guard hasAlpha else { return nil }
        let n = pixelCount, last = channels - 1
        return bitDepth == 8
            ? Image(width: width, height: height, channels: 1, pixels8: (0..<n).map { pixels8[$0 * channels + last] })
            : Image(width: width, height: height, channels: 1, pixels16: (0..<n).map { pixels16[$0 * channels + last] })
    }

    /// The image without its alpha channel (grey+alpha → grey, RGBA → RGB), or itself.
    package func droppingAlpha() -> Image {
        guard hasAlpha else { return self }
        let kept = channels - 1
        func strip<T>(_ p: [T]) -> [T] {
            var out = [T]()
            out.reserveCapacity(pixelCount * kept)
            for i in 0..<pixelCount { out.append(contentsOf: p[(i * channels)..<(i * channels + kept)]) }
            return out
        }
        return bitDepth == 8
            ? Image(width: width, height: height, channels: kept, pixels8: strip(pixels8))
            : Image(width: width, height: height, channels: kept, pixels16: strip(pixels16))
    }

    /// Splits off the alpha channel: (colour channels, alpha plane or nil).
    package func splitAlpha() -> (color: Image, alpha: Image?) { (droppingAlpha(), alpha) }

    /// Appends `alpha` (1 channel, same size) as the last channel of a grey or colour image. The
    /// alpha's bit depth is converted to this image's (`>> 8`, or `· 257` which maps 255 to 65535).
    package func attachingAlpha(_ alpha: Image) throws -> Image {
        guard alpha.channels == 1, alpha.width == width, alpha.height == height else {
            throw ImagingError.invalidArgument("alpha plane \(alpha.width)x\(alpha.height)x\(alpha.channels) does not match \(width)x\(height)")
        }
        guard channels == 1 || channels == 3 else {
            throw ImagingError.invalidArgument("cannot attach alpha to a \(channels)-channel image")
        }
        let out = channels + 1
        if bitDepth == 8 {
            let a = alpha.bitDepth == 8 ? alpha.pixels8 : alpha.pixels16.map { UInt8($0 >> 8) }
            var p = [UInt8](); p.reserveCapacity(pixelCount * out)
            for i in 0..<pixelCount { p.append(contentsOf: pixels8[(i * channels)..<((i + 1) * channels)]); p.append(a[i]) }
            return Image(width: width, height: height, channels: out, pixels8: p)
        }
        let a = alpha.bitDepth == 16 ? alpha.pixels16 : alpha.pixels8.map { UInt16($0) * 257 }
        var p = [UInt16](); p.reserveCapacity(pixelCount * out)
        for i in 0..<pixelCount { p.append(contentsOf: pixels16[(i * channels)..<((i + 1) * channels)]); p.append(a[i]) }
        return Image(width: width, height: height, channels: out, pixels16: p)
    }
}
