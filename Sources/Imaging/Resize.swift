/// OpenCV `cv2.resize` interpolation modes this port reproduces.
package enum Interpolation: Sendable {
    /// `INTER_LINEAR`: bilinear; for uint8 OpenCV's 11-bit fixed point, bit-exact.
    case linear
    /// `INTER_AREA`: pixel-area averaging when shrinking, a bilinear variant when enlarging.
    case area
    /// `INTER_LANCZOS4`: 8×8 Lanczos; for uint8 OpenCV's fixed point, bit-exact.
    case lanczos4
}

/// Resizing that reproduces `cv2.resize` decisions and arithmetic: output size rules, the special
/// cases OpenCV takes (same size → copy; exact 2× linear shrink → area averaging; integer-factor
/// area shrink → block means) and the per-type arithmetic (fixed point for uint8, float otherwise).
/// Channel order is irrelevant: every channel is resized independently.
package enum Resize {
    /// The output size `cv2.resize(src, (0, 0), fx: fx, fy: fy)` produces: `round(w·fx) × round(h·fy)`,
    /// rounding halves to even as OpenCV's `saturate_cast<int>` does.
    package static func scaledSize(width: Int, height: Int, fx: Double, fy: Double) -> (width: Int, height: Int) {
        (Int((Double(width) * fx).rounded(.toNearestOrEven)), Int((Double(height) * fy).rounded(.toNearestOrEven)))
    }

    /// Samples of a `width × height × channels` interleaved buffer resized like `cv2.resize`.
    /// `invScaleX/Y` are OpenCV's `fx/fy`: pass them when the caller used `fx/fy` (the sampling
    /// positions then use exactly `1/fx`), leave nil for an explicit size (per-axis size ratio).
    @_specialize(exported: true, where T == UInt8)
    @_specialize(exported: true, where T == UInt16)
    @_specialize(exported: true, where T == Float)
    package static func resize<T: ResizableSample>(_ src: [T], width: Int, height: Int, channels: Int,
                                                 toWidth: Int, toHeight: Int,
                                                 invScaleX: Double? = nil, invScaleY: Double? = nil,
                                                 interpolation: Interpolation) -> [T] {
        precondition(src.count == width * height * channels, "buffer does not match \(width)x\(height)x\(channels)")
        precondition(toWidth > 0 && toHeight > 0, "target size \(toWidth)x\(toHeight)")
        if toWidth == width && toHeight == height { return src }
        let fx = invScaleX ?? Double(toWidth) / Double(width)
        let fy = invScaleY ?? Double(toHeight) / Double(height)
        let scaleX = 1 / fx, scaleY = 1 / fy
        let iscaleX = Int(scaleX.rounded(.toNearestOrEven)), iscaleY = Int(scaleY.rounded(.toNearestOrEven))
        let isAreaFast = abs(scaleX - Double(iscaleX)) < Double.ulpOfOne && abs(scaleY - Double(iscaleY)) < Double.ulpOfOne
        var mode = interpolation
        if mode == .linear && isAreaFast && iscaleX == 2 && iscaleY == 2 { mode = .area }
        let geometry = ResizeGeometry(srcWidth: width, srcHeight: height, dstWidth: toWidth, dstHeight: toHeight,
                                      channels: channels, scaleX: scaleX, scaleY: scaleY, invScaleX: fx, invScaleY: fy)
        if mode == .area && scaleX >= 1 && scaleY >= 1 {
            if isAreaFast {
                return AreaResize.fast(src, geometry, blockX: iscaleX, blockY: iscaleY)
            }
            return AreaResize.general(src, geometry)
        }
        return SeparableResize.run(src, geometry, kernel: mode == .lanczos4 ? .lanczos4 : (mode == .area ? .areaBilinear : .linear))
    }

    /// Float samples resized with OpenCV's float arithmetic (e.g. masks, network outputs).
    package static func resize(floats src: [Float], width: Int, height: Int, channels: Int,
                              toWidth: Int, toHeight: Int, interpolation: Interpolation = .linear) -> [Float] {
        resize(src, width: width, height: height, channels: channels, toWidth: toWidth, toHeight: toHeight,
               interpolation: interpolation)
    }
}

extension Image {
    /// `cv2.resize(image, (width, height), interpolation)`.
    package func resized(width newWidth: Int, height newHeight: Int, interpolation: Interpolation = .linear) -> Image {
        if bitDepth == 8 {
            return Image(width: newWidth, height: newHeight, channels: channels,
                         pixels8: Resize.resize(pixels8, width: width, height: height, channels: channels,
                                                toWidth: newWidth, toHeight: newHeight, interpolation: interpolation))
        }
        return Image(width: newWidth, height: newHeight, channels: channels,
                     pixels16: Resize.resize(pixels16, width: width, height: height, channels: channels,
                                             toWidth: newWidth, toHeight: newHeight, interpolation: interpolation))
    }

    /// `cv2.resize(image, (0, 0), fx: fx, fy: fy, interpolation)`: size `round(w·fx) × round(h·fy)`,
    /// sampling positions from exactly `1/fx`, `1/fy` (not the size ratio).
    package func resized(fx: Double, fy: Double, interpolation: Interpolation = .linear) -> Image {
        let size = Resize.scaledSize(width: width, height: height, fx: fx, fy: fy)
        precondition(size.width > 0 && size.height > 0, "scale \(fx)x\(fy) gives an empty image")
        if bitDepth == 8 {
            return Image(width: size.width, height: size.height, channels: channels,
                         pixels8: Resize.resize(pixels8, width: width, height: height, channels: channels,
                                                toWidth: size.width, toHeight: size.height,
                                                invScaleX: fx, invScaleY: fy, interpolation: interpolation))
        }
        return Image(width: size.width, height: size.height, channels: channels,
                     pixels16: Resize.resize(pixels16, width: width, height: height, channels: channels,
                                             toWidth: size.width, toHeight: size.height,
                                             invScaleX: fx, invScaleY: fy, interpolation: interpolation))
    }
}

struct ResizeGeometry {
    let srcWidth: Int, srcHeight: Int, dstWidth: Int, dstHeight: Int, channels: Int
    let scaleX: Double, scaleY: Double, invScaleX: Double, invScaleY: Double
}

/// Sample types `Resize` handles, with the conversion OpenCV applies when a float result is stored
/// (`saturate_cast`: round half to even, clamp to the type's range).
package protocol ResizableSample: Sendable {
    /// Whether OpenCV uses 11-bit fixed point for this type in the separable kernels (uint8 only).
    static var usesFixedPoint: Bool { get }
    /// The sample as OpenCV's float working type.
    var work: Float { get }
    /// The working float stored back (`saturate_cast`).
    init(saturating value: Float)
    /// The sample as an integer (fixed-point path and integer block sums).
    var integer: Int32 { get }
    init(clampingInteger value: Int32)
}

extension UInt8: ResizableSample {
    package static var usesFixedPoint: Bool { true }
    @inline(__always) package var work: Float { Float(self) }
    @inline(__always) package init(saturating value: Float) { self = UInt8(Swift.max(0, Swift.min(255, value.rounded(.toNearestOrEven)))) }
    @inline(__always) package var integer: Int32 { Int32(self) }
    @inline(__always) package init(clampingInteger value: Int32) { self = UInt8(clamping: value) }
}

extension UInt16: ResizableSample {
    package static var usesFixedPoint: Bool { false }
    @inline(__always) package var work: Float { Float(self) }
    @inline(__always) package init(saturating value: Float) { self = UInt16(Swift.max(0, Swift.min(65535, value.rounded(.toNearestOrEven)))) }
    @inline(__always) package var integer: Int32 { Int32(self) }
    @inline(__always) package init(clampingInteger value: Int32) { self = UInt16(clamping: value) }
}

extension Float: ResizableSample {
    package static var usesFixedPoint: Bool { false }
    @inline(__always) package var work: Float { self }
    @inline(__always) package init(saturating value: Float) { self = value }
    @inline(__always) package var integer: Int32 { Int32(self) }
    @inline(__always) package init(clampingInteger value: Int32) { self = Float(value) }
}
