/// Pixel-bomb protection: decoders call this with the header's size before allocating anything.
enum PixelLimit {
    static func check(width: Int, height: Int, maxPixels: Int?) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if let maxPixels, overflow || pixels > maxPixels {
            throw ImagingError.tooLarge(width: width, height: height, maxPixels: maxPixels)
        }
        // Even without a caller limit, refuse sizes whose sample buffer cannot be indexed.
        if overflow || pixels > Int.max / 8 {
            throw ImagingError.tooLarge(width: width, height: height, maxPixels: Int.max / 8)
        }
    }
}
