import Foundation
package import Imaging
package import Networks
import TensorCore

/// `FaceRestoreHelper.paste_faces_to_input_image` (sczhou/CodeFormer
/// `facelib/utils/face_restoration_helper.py`): every restored face warped back onto the upscaled
/// photo through a soft square mask, optionally intersected with ParseNet's face mask.
///
/// Everything is BGR, as in the reference. The arithmetic types follow numpy's promotions there,
/// which decide the truncated 8-bit values: Float32 when no parse mask is used and the faces are
/// 8-bit, Float64 otherwise (the parse mask is Float64, grey faces are Float64).
package struct PasteBack {
    /// One restored face and the map that cut it out of the photo.
    package struct Face {
        /// 8-bit BGR (3 channels), or Float64 BGR for grey photos (`bgr2gray` is not rounded).
        package var restored: FacePixels
        /// Photo (`input_img`) -> face crop, as `FaceAlignment.affine` returned it.
        package var affine: AffineMatrix

        package init(restored: FacePixels, affine: AffineMatrix) {
            self.restored = restored
            self.affine = affine
        }
    }

    /// A square face, interleaved BGR.
    package enum FacePixels {
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

    package var upscale: Int
    package var faceSize = 512
    /// The face mask of a restored 512x512 face (interleaved BGR values) in [0, 1], Float64, 512x512:
    /// ParseNet's (`use_parse`) via `ParseMask`; nil pastes with the square soft mask only.
    package var faceMask: (([Double]) throws -> [Double])?
    /// Upsamples a restored 8-bit BGR face by `upscale` (the demo's `face_upsampler`: Real-ESRGAN).
    package var faceUpsampler: ((Image) throws -> Image)?
    package var drawBox = false
    /// Called before each face is pasted (`index` from 0 of `count`); it can throw to stop there.
    package var beforeFace: (_ index: Int, _ count: Int) throws -> Void = { _, _ in }

    package init(upscale: Int, parser: ParseNet?, faceUpsampler: ((Image) throws -> Image)? = nil, drawBox: Bool = false) {
        self.upscale = upscale
        self.faceMask = parser.map { parser in { try ParseMask.faceMask(parser: parser, bgr: $0, width: 512, height: 512) } }
        self.faceUpsampler = faceUpsampler
        self.drawBox = drawBox
    }

    /// The background: `resize(input_img, (w*u, h*u), INTER_LINEAR)`, or an upsampled background
    /// resized there with INTER_LANCZOS4.
    package func background(inputImage: Image, upsampled: Image?) -> Image {
        let (w, h) = (inputImage.width * upscale, inputImage.height * upscale)
        if let upsampled { return upsampled.resized(width: w, height: h, interpolation: .lanczos4) }
        return inputImage.resized(width: w, height: h, interpolation: .linear)
    }

    /// The inverse affine paste-back uses for a face (`get_inverse_affine`, then the in-place shift by
    /// `0.5 * upscale` when upscaling without a face upsampler).
    package func inverseAffine(_ affine: AffineMatrix) -> AffineMatrix {
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
    package func paste(_ faces: [Face], onto inputImage: Image, upsampledBackground: Image? = nil) throws -> Image {
        let background = background(inputImage: inputImage, upsampled: upsampledBackground)
        let doublePrecision = faceMask != nil || faces.contains { if case .doubles = $0.restored { true } else { false } }
        return doublePrecision
            ? try paste(faces, background: background, as: Double.self)
            : try paste(faces, background: background, as: Float.self)
    }

    /// The window of the output a face can touch: its warped square plus a margin of zeros wide
    /// enough that the erosions and the blur (reflecting at the window's edge) see exactly what they
    /// would see on the whole image. Working there instead of on the whole output keeps paste-back's
    /// cost proportional to the faces, not to the photo.
    struct Region {
        let x: Int, y: Int, width: Int, height: Int
        var count: Int { width * height }
    }

    func region(for inverse: AffineMatrix, size: Int, width w: Int, height h: Int) -> Region {
        let corners = [(0.0, 0.0), (Double(size), 0.0), (0.0, Double(size)), (Double(size), Double(size))].map { inverse.apply(x: $0.0, y: $0.1) }
        let (minX, maxX) = (corners.map(\.x).min()!, corners.map(\.x).max()!)
        let (minY, maxY) = (corners.map(\.y).min()!, corners.map(\.y).max()!)
        guard minX.isFinite, maxX.isFinite, minY.isFinite, maxY.isFinite else { return Region(x: 0, y: 0, width: w, height: h) }
        let maxEdge = Int(((maxX - minX) * (maxY - minY)).squareRoot()) / 20 + 1
        let margin = 4 * upscale + 8 + 5 * maxEdge
        let x0 = max(0, Int(minX.rounded(.down)) - margin), x1 = min(w, Int(maxX.rounded(.up)) + margin)
        let y0 = max(0, Int(minY.rounded(.down)) - margin), y1 = min(h, Int(maxY.rounded(.up)) + margin)
        return x1 > x0 && y1 > y0 ? Region(x: x0, y: y0, width: x1 - x0, height: y1 - y0) : Region(x: 0, y: 0, width: 0, height: 0)
    }

    /// One face prepared for blending, over its `region`: the restored face warped back, the eroded
    /// square mask it is multiplied by, the soft mask, the parse mask (with `faceMask`) and the box
    /// frame (`drawBox`).
    struct Layers<T> {
        let region: Region
        let warped: [T]
        let erosion: [Float]
        let soft: [Float]
        let parse: [Double]?
        let border: [Float]?

        /// The blend weight `m` at region index `i`: `min(parse, soft)` (Float64), or `soft`.
        func mask(_ i: Int) -> Double {
            guard let parse else { return Double(soft[i]) }
            let s = Double(soft[i])
            return parse[i] < s ? parse[i] : s
        }
    }

    /// The side of the square a face is warped back from: 512, or 512 times `upscale` once the face
    /// upsampler enlarged it.
    var pastedFaceSize: Int { faceUpsampler == nil ? faceSize : faceSize * upscale }

    /// The region `face` can touch on a `w × h` output.
    func region(of face: Face, width w: Int, height h: Int) -> Region {
        region(for: inverseAffine(face.affine), size: pastedFaceSize, width: w, height: h)
    }

    func layers<T: BinaryFloatingPoint & Sendable>(_ face: Face, width w: Int, height h: Int, as: T.Type) throws -> Layers<T> {
        var restored = face.restored
        if let faceUpsampler { restored = .bytes(try faceUpsampler(restored.image)) }
        let size = pastedFaceSize
        let inverse = inverseAffine(face.affine)
        let r = region(of: face, width: w, height: h)
        let origin = (r.x, r.y)
        // The restored face warped back (8-bit faces stay 8-bit through the warp, as in OpenCV).
        let warped: [T]
        switch restored {
        case .bytes(let face):
            warped = face.warpedAffine(inverse, width: r.width, height: r.height, origin: origin, border: [0, 0, 0]).pixels8.map { T($0) }
        case .doubles(let values, let n):
            warped = WarpAffine.warp(values, width: n, height: n, channels: 3, transform: inverse, toWidth: r.width, toHeight: r.height,
                                     origin: origin).map { T($0) }
        }
        func warpPlane<P: BinaryFloatingPoint & Sendable>(_ plane: [P]) -> [P] {
            WarpAffine.warp(plane, width: size, height: size, channels: 1, transform: inverse, toWidth: r.width, toHeight: r.height, origin: origin)
        }
        let mask = warpPlane([Float](repeating: 1, count: size * size))
        let erosion = PlaneFilters.eroded(mask, width: r.width, height: r.height, size: 2 * upscale)
        let area = erosion.reduce(0.0) { $0 + Double($1) }
        var border: [Float]?
        if drawBox {
            let thickness = Int(1400 / Float(area).squareRoot())
            var frame = [Float](repeating: 1, count: size * size)
            if thickness < size - thickness {
                for y in thickness..<(size - thickness) { for x in thickness..<(size - thickness) { frame[y * size + x] = 0 } }
            }
            border = warpPlane(frame)
        }
        let edge = Int(Float(area).squareRoot()) / 20
        let center = PlaneFilters.eroded(erosion, width: r.width, height: r.height, size: 2 * edge)
        let soft = PlaneFilters.gaussianBlurred(center, width: r.width, height: r.height, size: 2 * edge + 1, sigma: 0)
        let parse = try faceMask.map { faceMask in warpPlane(try parseMask(restored, size: size, faceMask: faceMask)) }
        return Layers(region: r, warped: warped, erosion: erosion, soft: soft, parse: parse, border: border)
    }

    /// The weight each output pixel of `inputImage` upscaled gives `face` (the reference's final
    /// `inv_soft_mask`), row-major.
    package func blendMask(for face: Face, onto inputImage: Image) throws -> [Double] {
        let (w, h) = (inputImage.width * upscale, inputImage.height * upscale)
        let layers = try layers(face, width: w, height: h, as: Float.self)
        var mask = [Double](repeating: 0, count: w * h)
        let r = layers.region
        for y in 0..<r.height { for x in 0..<r.width { mask[(r.y + y) * w + r.x + x] = layers.mask(y * r.width + x) } }
        return mask
    }

    /// The output pixels the faces can change, as `T` (the reference blends the whole image in
    /// Float32 or Float64 and truncates at the end; elsewhere that gives back the background's bytes).
    /// Holding only the faces' regions this way keeps paste-back's memory to the faces: 72 MB of
    /// Float64 for a whole 2000x1500 photo otherwise.
    struct Canvas<T> {
        let area: Region
        var values: [T]

        /// The smallest rectangle that holds every region, filled from `background`.
        init(covering regions: [Region], of background: Image) where T: BinaryFloatingPoint {
            let kept = regions.filter { $0.count > 0 }
            let x0 = kept.map(\.x).min() ?? 0, y0 = kept.map(\.y).min() ?? 0
            let x1 = kept.map { $0.x + $0.width }.max() ?? 0, y1 = kept.map { $0.y + $0.height }.max() ?? 0
            area = Region(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
            var values = [T](repeating: 0, count: 3 * area.count)
            let bytes = background.pixels8
            for y in 0..<area.height {
                let row = 3 * ((area.y + y) * background.width + area.x), canvasRow = 3 * y * area.width
                for i in 0..<(3 * area.width) { values[canvasRow + i] = T(bytes[row + i]) }
            }
            self.values = values
        }

        /// `image` with the canvas truncated to 8 bits over its area, as the reference's final
        /// `astype('uint8')` after clipping.
        func drawn(onto image: Image) -> [UInt8] where T: BinaryFloatingPoint {
            var bytes = image.pixels8
            for y in 0..<area.height {
                let row = 3 * ((area.y + y) * image.width + area.x), canvasRow = 3 * y * area.width
                for i in 0..<(3 * area.width) {
                    bytes[row + i] = UInt8(clamping: Int(Swift.max(0, Swift.min(255, values[canvasRow + i]))))
                }
            }
            return bytes
        }
    }

    private func paste<T: BinaryFloatingPoint & Sendable>(_ faces: [Face], background: Image, as: T.Type) throws -> Image {
        let (w, h) = (background.width, background.height)
        var canvas = Canvas<T>(covering: faces.map { region(of: $0, width: w, height: h) }, of: background)
        var borders: [(Region, [Float])] = []
        for (index, face) in faces.enumerated() {
            try beforeFace(index, faces.count)
            let layers = try layers(face, width: w, height: h, as: T.self)
            if let border = layers.border { borders.append((layers.region, border)) }
            blend(&canvas, layers)
        }
        var out = canvas.drawn(onto: background)
        if !borders.isEmpty {
            // The demo draws the boxes on the 8-bit result in Float32; imwrite rounds.
            let green: [Float] = [0, 255, 0]
            var canvas = out.map(Float.init)
            for (r, border) in borders {
                for y in 0..<r.height {
                    for x in 0..<r.width where border[y * r.width + x] != 0 {
                        let b = border[y * r.width + x], i = (r.y + y) * w + r.x + x
                        for c in 0..<3 { canvas[3 * i + c] = b * green[c] + (1 - b) * canvas[3 * i + c] }
                    }
                }
            }
            out = canvas.map { UInt8(clamping: Int($0.rounded(.toNearestOrEven))) }
        }
        return Image(width: w, height: h, channels: 3, pixels8: out)
    }

    /// `img = m * (erosion * face) + (1 - m) * img` with `m = min(parse, soft)` (or `soft`), over the
    /// face's region (elsewhere `m` is 0 and the image stays as it is).
    private func blend<T: BinaryFloatingPoint & Sendable>(_ canvas: inout Canvas<T>, _ layers: Layers<T>) {
        let r = layers.region, area = canvas.area
        guard r.count > 0 else { return }
        canvas.values.withUnsafeMutableBufferPointer { img in
            let img = SharedPointer(img.baseAddress!)
            parallelFor(r.height) { y in
                for x in 0..<r.width {
                    let i = y * r.width + x, target = 3 * ((r.y - area.y + y) * area.width + r.x - area.x + x)
                    let e = T(layers.erosion[i])
                    let m = T(layers.mask(i))
                    let keep = 1 - m
                    for c in 0..<3 {
                        let pasted = e * layers.warped[3 * i + c]
                        img.pointer[target + c] = m * pasted + keep * img.pointer[target + c]
                    }
                }
            }
        }
    }

    /// ParseNet on the restored face (resized to 512 if upsampled), the Float64 face mask resized to
    /// the face size (INTER_LINEAR); the caller warps it back (`flags=3`, which `warpAffine` runs as
    /// bilinear).
    private func parseMask(_ face: FacePixels, size: Int, faceMask: ([Double]) throws -> [Double]) throws -> [Double] {
        var bgr = face.doubles
        if face.size != 512 {
            bgr = face.image.resized(width: 512, height: 512, interpolation: .linear).pixels8.map(Double.init)
        }
        var mask = try faceMask(bgr)
        if size != 512 {
            mask = Resize.resize(mask.map(Float.init), width: 512, height: 512, channels: 1, toWidth: size, toHeight: size,
                                 interpolation: .linear).map(Double.init)
        }
        return mask
    }
}
