/// A decoded raster: interleaved samples, row-major, top row first, in the channel order image files
/// store them (grey, grey+alpha, RGB, RGBA). Exactly one of `pixels8` / `pixels16` holds the samples,
/// chosen by `bitDepth`; keeping both typed arrays (instead of raw bytes) lets resize and colour code
/// work on native integers without reinterpretation.
package struct Image: Sendable, Equatable {
    package let width: Int
    package let height: Int
    /// 1 = grey, 2 = grey + alpha, 3 = RGB (or BGR after `swappingRedBlue()`), 4 = RGBA.
    package let channels: Int
    /// 8 or 16.
    package let bitDepth: Int
    /// Samples when `bitDepth == 8`, otherwise empty.
    package var pixels8: [UInt8]
    /// Samples when `bitDepth == 16`, otherwise empty.
    package var pixels16: [UInt16]

    /// An 8-bit image. `pixels.count` must equal `width * height * channels`.
    package init(width: Int, height: Int, channels: Int, pixels8: [UInt8]) {
        precondition(width > 0 && height > 0, "image size \(width)x\(height)")
        precondition((1...4).contains(channels), "\(channels) channels")
        precondition(pixels8.count == width * height * channels,
                     "\(pixels8.count) samples for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = 8
        self.pixels8 = pixels8
        self.pixels16 = []
    }

    /// A 16-bit image. `pixels.count` must equal `width * height * channels`.
    package init(width: Int, height: Int, channels: Int, pixels16: [UInt16]) {
        precondition(width > 0 && height > 0, "image size \(width)x\(height)")
        precondition((1...4).contains(channels), "\(channels) channels")
        precondition(pixels16.count == width * height * channels,
                     "\(pixels16.count) samples for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = 16
        self.pixels8 = []
        self.pixels16 = pixels16
    }

    /// A uniformly filled image, handy for tests and canvases.
    package init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, fill: Int = 0) {
        let count = width * height * channels
        if bitDepth == 16 {
            self.init(width: width, height: height, channels: channels,
                      pixels16: [UInt16](repeating: UInt16(clamping: fill), count: count))
        } else {
            precondition(bitDepth == 8, "bit depth \(bitDepth)")
            self.init(width: width, height: height, channels: channels,
                      pixels8: [UInt8](repeating: UInt8(clamping: fill), count: count))
        }
    }

    package var pixelCount: Int { width * height }
    package var sampleCount: Int { width * height * channels }
    /// Whether the last channel is alpha (grey+alpha or RGBA).
    package var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// Sample `channel` of pixel (x, y), widened to `Int` whatever the bit depth.
    package subscript(x: Int, y: Int, channel: Int) -> Int {
        get {
            let index = (y * width + x) * channels + channel
            return bitDepth == 8 ? Int(pixels8[index]) : Int(pixels16[index])
        }
        set {
            let index = (y * width + x) * channels + channel
            if bitDepth == 8 { pixels8[index] = UInt8(clamping: newValue) } else { pixels16[index] = UInt16(clamping: newValue) }
        }
    }

    /// The samples as `Float` in their integer units (0...255 or 0...65535), interleaved.
    package var floatSamples: [Float] {
        bitDepth == 8 ? pixels8.map(Float.init) : pixels16.map(Float.init)
    }
}
