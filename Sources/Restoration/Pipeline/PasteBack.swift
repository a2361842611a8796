import Foundation
import Imaging
import Networks
import TensorCore

/// `FaceRestoreHelper.paste_faces_to_input_image` (sczhou/CodeFormer
/// `facelib/utils/face_restoration_helper.py`): every restored face warped back onto the upscaled
/// photo through a soft square mask, optionally intersected with ParseNet's face mask.
///
/// Everything is BGR, as in the reference. The arithmetic types follow numpy's promotions there,
/// which decide the truncated 8-bit values: Float32 when no parse mask is used and the faces are
/// 8-bit, Float64 otherwise (the parse mask is Float64, grey faces are Float64).
public struct PasteBack {
    /// One restored face and the map that cut it out of the photo.
    public struct Face {
        /// 8-bit BGR (3 channels), or Float64 BGR for grey photos (`bgr2gray` is not rounded).
        public var restored: FacePixels
        /// Photo (`input_img`) -> face crop, as `FaceAlignment.affine` returned it.
        public var affine: AffineMatrix

        public init(restored: FacePixels, affine: AffineMatrix) {
            self.restored = restored
            self.affine = affine
        }
    }

    /// A square face, interleaved BGR.
    public enum FacePixels {
        case bytes(Image)
        case doubles([Double], size: Int)

        var size: Int {
            switch self {
            case .bytes(let image): image.width
            case .doubles(_, let size): size
            }
        }

        var doubles: [Double] {
            switch self {
            case .bytes(let image): image.pixels8.map(Double.init)
            case .doubles(let values, _): values
            }
        }

        /// 8-bit, rounded, for the face upsampler.
        var image: Image {
            switch self {
            case .bytes(let image): image
            case .doubles(let values, let size):
                Image(width: size, height: size, channels: 3, pixels8: values.map { UInt8(clamping: Int($0.rounded())) })
            }
        }
    }

    public var upscale: Int
    public var faceSize = 512
    /// The face mask of a restored 512x512 face (interleaved BGR values) in [0, 1], Float64, 512x512:
    /// ParseNet's (`use_parse`) via `ParseMask`; nil pastes with the square soft mask only.
    public var faceMask: (([Double]) -> [Double])?
    /// Upsamples a restored 8-bit BGR face by `upscale` (the demo's `face_upsampler`: Real-ESRGAN).
    public var faceUpsampler: ((Image) -> Image)?
    public var drawBox = false

    public init(upscale: Int, parser: ParseNet?, faceUpsampler: ((Image) -> Image)? = nil, drawBox: Bool = false) {
        self.upscale = upscale
        self.faceMask = parser.map { parser in { ParseMask.faceMask(parser: parser, bgr: $0, width: 512, height: 512) } }
        self.faceUpsampler = faceUpsampler
        self.drawBox = drawBox
    }

    /// The background: `resize(input_img, (w*u, h*u), INTER_LINEAR)`, or an upsampled background
    /// resized there with INTER_LANCZOS4.
    public func background(inputImage: Image, upsampled: Image?) -> Image {
        let (w, h) = (inputImage.width * upscale, inputImage.height * upscale)
        if let upsampled { return upsampled.resized(width: w, height: h, interpolation: .lanczos4) }
        return inputImage.resized(width: w, height: h, interpolation: .linear)
    }

    /// The inverse affine paste-back uses for a face (`get_inverse_affine`, then the in-place shift by
    /// `0.5 * upscale` when upscaling without a face upsampler).
    public func inverseAffine(_ affine: AffineMatrix) -> AffineMatrix {
        let u = Double(upscale)
        let inverse = affine.inverted().scaled(by: u)
        if faceUpsampler != nil {
            var m = inverse.m
            for i in [0, 1, 3, 4] { m[i] /= u }
            return AffineMatrix(m)
        }
        return upscale > 1 ? inverse.translated(dx: 0.5 * u, dy: 0.5 * u) : inverse
    }

    /// The pasted photo, 8-bit BGR of `inputImage`'s size times `upscale`.
    public func paste(_ faces: [Face], onto inputImage: Image, upsampledBackground: Image? = nil) -> Image {
        let background = background(inputImage: inputImage, upsampled: upsampledBackground)
        let doublePrecision = faceMask != nil || faces.contains { if case .doubles = $0.restored { true } else { false } }
        return doublePrecision
            ? paste(faces, background: background, as: Double.self)
            : paste(faces, background: background, as: Float.self)
    }

    /// The per-face masks: the soft square mask and, with a parser, the warped parse mask.
    struct Masks<T> {
        let erosion: [Float]
        let soft: [Float]
        let parse: [Double]?
        let border: [Float]?
    }

    private func paste<T: BinaryFloatingPoint & Sendable>(_ faces: [Face], background: Image, as: T.Type) -> Image {
        let (w, h) = (background.width, background.height)
        let plane = w * h
        var image = background.pixels8.map { T($0) }
        var borders: [[Float]] = []
        for face in faces {
            var restored = face.restored
            var size = faceSize
            if let faceUpsampler {
                restored = .bytes(faceUpsampler(restored.image))
                size = faceSize * upscale
            }
            let inverse = inverseAffine(face.affine)
            // The restored face warped back (8-bit faces stay 8-bit through the warp, as in OpenCV).
            let warped: [T]
            switch restored {
            case .bytes(let face):
                warped = face.warpedAffine(inverse, width: w, height: h, border: [0, 0, 0]).pixels8.map { T($0) }
            case .doubles(let values, let n):
                warped = WarpAffine.warp(values, width: n, height: n, channels: 3, transform: inverse, toWidth: w, toHeight: h).map { T($0) }
            }
            let ones = [Float](repeating: 1, count: size * size)
            let mask = WarpAffine.warp(ones, width: size, height: size, channels: 1, transform: inverse, toWidth: w, toHeight: h)
            let erosion = PlaneFilters.eroded(mask, width: w, height: h, size: 2 * upscale)
            let area = erosion.reduce(0.0) { $0 + Double($1) }
            if drawBox {
                let border = Int(1400 / Float(area).squareRoot())
                var frame = [Float](repeating: 1, count: size * size)
                if border < size - border {
                    for y in border..<(size - border) { for x in border..<(size - border) { frame[y * size + x] = 0 } }
                }
                borders.append(WarpAffine.warp(frame, width: size, height: size, channels: 1, transform: inverse, toWidth: w, toHeight: h))
            }
            let edge = Int(Float(area).squareRoot()) / 20
            let center = PlaneFilters.eroded(erosion, width: w, height: h, size: 2 * edge)
            let soft = PlaneFilters.gaussianBlurred(center, width: w, height: h, size: 2 * edge + 1, sigma: 0)
            var parse: [Double]?
            if let faceMask {
                parse = parseMask(restored, size: size, faceMask: faceMask, inverse: inverse, width: w, height: h)
            }
            blend(&image, warped: warped, erosion: erosion, soft: soft, parse: parse, plane: plane)
        }
        var out = image.map { UInt8(clamping: Int(Swift.max(0, Swift.min(255, $0)))) }
        if !borders.isEmpty {
            // The demo draws the boxes on the 8-bit result in Float32; imwrite rounds.
            let green: [Float] = [0, 255, 0]
            var canvas = out.map(Float.init)
            for border in borders {
                for i in 0..<plane where border[i] != 0 {
                    for c in 0..<3 { canvas[3 * i + c] = border[i] * green[c] + (1 - border[i]) * canvas[3 * i + c] }
                }
            }
            out = canvas.map { UInt8(clamping: Int($0.rounded(.toNearestOrEven))) }
        }
        return Image(width: w, height: h, channels: 3, pixels8: out)
    }

    /// `img = m * (erosion * face) + (1 - m) * img` with `m = min(parse, soft)` (or `soft`).
    private func blend<T: BinaryFloatingPoint & Sendable>(_ image: inout [T], warped: [T], erosion: [Float], soft: [Float], parse: [Double]?, plane: Int) {
        image.withUnsafeMutableBufferPointer { img in
            let img = SharedPointer(img.baseAddress!)
            parallelForChunks(plane, chunk: 1 << 14) { range in
                for i in range {
                    let e = T(erosion[i])
                    let m: T
                    if let parse {
                        let s = Double(soft[i])
                        m = T(parse[i] < s ? parse[i] : s)
                    } else {
                        m = T(soft[i])
                    }
                    let keep = 1 - m
                    for c in 0..<3 {
                        let pasted = e * warped[3 * i + c]
                        img.pointer[3 * i + c] = m * pasted + keep * img.pointer[3 * i + c]
                    }
                }
            }
        }
    }

    /// ParseNet on the restored face (resized to 512 if upsampled), the Float64 face mask resized to
    /// the face size (INTER_LINEAR) and warped back (`flags=3`, which `warpAffine` runs as bilinear).
    private func parseMask(_ face: FacePixels, size: Int, faceMask: ([Double]) -> [Double], inverse: AffineMatrix, width: Int, height: Int) -> [Double] {
        var bgr = face.doubles
        if face.size != 512 {
            bgr = face.image.resized(width: 512, height: 512, interpolation: .linear).pixels8.map(Double.init)
        }
        var mask = faceMask(bgr)
        if size != 512 {
            mask = Resize.resize(mask.map(Float.init), width: 512, height: 512, channels: 1, toWidth: size, toHeight: size,
                                 interpolation: .linear).map(Double.init)
        }
        return WarpAffine.warp(mask, width: size, height: size, channels: 1, transform: inverse, toWidth: width, toHeight: height)
    }
}
