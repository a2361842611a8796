import Foundation
import Imaging
import Networks
import Restoration
import Testing
import TestSupport
import TensorCore

/// Alignment and paste-back against `fixtures/facelib/align_paste_{04,01}` (README "Tolerances":
/// affine and inverse affines <= 1e-9 from float32 points; crops exact with the warpAffine recipe;
/// paste outputs bit-exact reachable, recommended max <= 3, <= 0.2 % of values off by more than 1,
/// mean <= 0.15, sizes exact). The restored faces fed in are the fixture's `255 - crop`.
@Suite(.serialized) struct AlignmentAndPasteBackTests {
    struct Case {
        let folder: String
        let image: String
        let json: [String: Any]
        let faces: [[String: Any]]
    }

    static func load(_ folder: String) throws -> Case {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("facelib/\(folder)/align_paste.json"))) as! [String: Any]
        return Case(folder: folder, image: json["image"] as! String, json: json, faces: json["faces"] as! [[String: Any]])
    }

    static func bgrPNG(_ path: String) throws -> Image {
        try ImageDecoder.decode(Data(contentsOf: Fixtures.url(path))).swappingRedBlue()
    }

    static func matrix(_ value: Any?) -> [Double] { (value as! [[Double]]).flatMap { $0 } }

    static func landmarks(_ face: [String: Any]) -> [Float] {
        (face["landmarks_5_input_img_px"] as! [[Double]]).flatMap { $0.map(Float.init) }
    }

    static let folders = ["align_paste_04", "align_paste_01"]

    @Test(.enabled(if: Fixtures.available("facelib/align_paste_04/align_paste.json")), arguments: folders)
    func affineMatricesAndCrops(folder: String) throws {
        let c = try Self.load(folder)
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        let size = c.json["input_img_hw"] as! [Int]
        #expect(photo.bgr.height == size[0] && photo.bgr.width == size[1])
        var worst = 0.0
        for (i, face) in c.faces.enumerated() {
            let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(face)))
            for (a, b) in zip(affine.m, Self.matrix(face["affine_matrix"])) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            let inverses = face["inverse_affine"] as! [String: [String: Any]]
            for upscale in [1, 2] {
                let entry = inverses["up\(upscale)"]!
                for (a, b) in zip(affine.inverted().scaled(by: Double(upscale)).m, Self.matrix(entry["get_inverse_affine"])) {
                    worst = max(worst, abs(a - b) / max(1, abs(b)))
                }
                let used = PasteBack(upscale: upscale, parser: nil).inverseAffine(affine)
                for (a, b) in zip(used.m, Self.matrix(entry["used_in_paste"])) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            }
            let crop = FaceAlignment.crop(photo.bgr, affine: affine)
            let expected = try Self.bgrPNG("facelib/\(folder)/crop_\(i).png")
            let differing = zip(crop.pixels8, expected.pixels8).filter { $0 != $1 }.count
            #expect(differing == 0, "\(folder) crop_\(i): \(differing) values differ")
        }
        print("parity \(folder) affine / inverse affines: max relative difference \(worst) (tolerance 1e-9)")
        #expect(worst <= 1e-9)
    }

    static let parser: Result<ParseNet, Error> = Result {
        try NetworkLoader().load(ParseNet.self, from: Fixtures.url("facelib/parsenet/manifest.json"), algorithm: .direct)
    }

    @Test(.enabled(if: Fixtures.available("facelib/align_paste_04/align_paste.json")),
          arguments: ["align_paste_04", "align_paste_01"], [(1, false), (2, false), (1, true), (2, true)])
    func pasteBack(folder: String, setting: (upscale: Int, parse: Bool)) throws {
        let c = try Self.load(folder)
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        var faces: [PasteBack.Face] = []
        for (i, face) in c.faces.enumerated() {
            let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(face)))
            faces.append(PasteBack.Face(restored: .bytes(try Self.bgrPNG("facelib/\(folder)/restored_\(i).png")), affine: affine))
        }
        let paste = PasteBack(upscale: setting.upscale, parser: setting.parse ? try Self.parser.get() : nil)
        let start = ContinuousClock.now
        let result = try paste.paste(faces, onto: photo.bgr)
        let elapsed = ContinuousClock.now - start
        let name = "paste_up\(setting.upscale)_\(setting.parse ? "parse" : "noparse").png"
        let expected = try Self.bgrPNG("facelib/\(folder)/\(name)")
        #expect(result.width == expected.width && result.height == expected.height)
        guard result.width == expected.width && result.height == expected.height else { return }
        let diffs = zip(result.pixels8, expected.pixels8).map { abs(Int($0) - Int($1)) }
        let differing = diffs.filter { $0 > 0 }.count, overOne = diffs.filter { $0 > 1 }.count
        let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
        print("parity \(folder)/\(name): \(differing) of \(diffs.count) values differ, \(overOne) by more than 1, max \(diffs.max() ?? 0), mean \(mean); paste took \(elapsed)")
        #expect((diffs.max() ?? 99) <= 3)
        #expect(Double(overOne) / Double(diffs.count) <= 0.002)
        #expect(mean <= 0.15)
    }

    /// With ParseNet's reference labels (fixture `parsenet/argmax.npy` is face 0 of align_paste_04)
    /// the Float64 parse path is bit-exact too: the differences above come from ParseNet's float32
    /// near-ties alone.
    @Test(.enabled(if: Fixtures.available("facelib/parsenet/argmax.npy")), arguments: [1, 2])
    func pasteBackWithReferenceLabelsIsExact(upscale: Int) throws {
        let c = try Self.load("align_paste_04")
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(c.faces[0])))
        let labels = try NumpyArray(fixture: "facelib/parsenet/argmax.npy").ints
        var paste = PasteBack(upscale: upscale, parser: nil)
        paste.faceMask = { _ in ParseMask.faceMask(labels: labels, height: 512, width: 512) }
        let result = try paste.paste([PasteBack.Face(restored: .bytes(try Self.bgrPNG("facelib/align_paste_04/restored_0.png")), affine: affine)],
                                 onto: photo.bgr)
        let expected = try Self.bgrPNG("facelib/align_paste_04/paste_up\(upscale)_parse.png")
        let differing = zip(result.pixels8, expected.pixels8).filter { $0 != $1 }.count
        #expect(result.width == expected.width && differing == 0, "\(differing) values differ")
    }

    /// The face-upsampler branch: faces arrive `upscale` times larger, the inverse affine is scaled
    /// down instead of shifted; with a 2x nearest upsampler the result stays close to the plain paste.
    @Test(.enabled(if: Fixtures.available("facelib/align_paste_04/align_paste.json")))
    func faceUpsamplerBranch() throws {
        let c = try Self.load("align_paste_04")
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(c.faces[0])))
        let face = PasteBack.Face(restored: .bytes(try Self.bgrPNG("facelib/align_paste_04/restored_0.png")), affine: affine)
        var upsampled = PasteBack(upscale: 2, parser: nil)
        var calls = 0
        upsampled.faceUpsampler = { image in
            calls += 1
            return image.resized(width: image.width * 2, height: image.height * 2, interpolation: .linear)
        }
        let inverse = upsampled.inverseAffine(affine).m, plainInverse = PasteBack(upscale: 2, parser: nil).inverseAffine(affine).m
        #expect(abs(inverse[0] * 2 - plainInverse[0]) < 1e-12 && abs(inverse[2] + 1 - plainInverse[2]) < 1e-9)
        let result = try upsampled.paste([face], onto: photo.bgr)
        let plain = try PasteBack(upscale: 2, parser: nil).paste([face], onto: photo.bgr)
        #expect(calls == 1 && result.width == 1024 && result.height == 1024)
        let mean = Double(zip(result.pixels8, plain.pixels8).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(plain.pixels8.count)
        #expect(mean < 2, "mean difference \(mean)")
    }

    /// `draw_box`: a green frame is drawn around each pasted face.
    @Test(.enabled(if: Fixtures.available("facelib/align_paste_04/align_paste.json")))
    func drawBoxPaintsGreen() throws {
        let c = try Self.load("align_paste_04")
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(c.faces[0])))
        let face = PasteBack.Face(restored: .bytes(try Self.bgrPNG("facelib/align_paste_04/restored_0.png")), affine: affine)
        let boxed = try PasteBack(upscale: 1, parser: nil, drawBox: true).paste([face], onto: photo.bgr)
        // The crop's top-left corner lands on the photo at inverse(0, 0) (BGR (0, 255, 0)).
        let corner = affine.inverted().apply(x: 2, y: 2)
        let (x, y) = (Int(corner.x.rounded()), Int(corner.y.rounded()))
        #expect(boxed[x, y, 0] < 30 && boxed[x, y, 1] > 220 && boxed[x, y, 2] < 30, "(\(x), \(y)) is not green")
    }

    /// The final per-face blend masks (`mask_face0_*.png`: 16-bit, `round(65535 m)`), with the
    /// reference's ParseNet labels for the parse variants.
    @Test(.enabled(if: Fixtures.available("facelib/align_paste_04/mask_face0_up1_parse.png")),
          arguments: [(1, false), (2, false), (1, true), (2, true)])
    func blendMasks(setting: (upscale: Int, parse: Bool)) throws {
        let c = try Self.load("align_paste_04")
        let photo = InputPhoto(try ImageDecoder.decode(Data(contentsOf: Fixtures.url("images/\(c.image)"))))
        let affine = try #require(FaceAlignment.affine(landmarks: Self.landmarks(c.faces[0])))
        let face = PasteBack.Face(restored: .bytes(try Self.bgrPNG("facelib/align_paste_04/restored_0.png")), affine: affine)
        var paste = PasteBack(upscale: setting.upscale, parser: nil)
        if setting.parse {
            let labels = try NumpyArray(fixture: "facelib/parsenet/argmax.npy").ints
            paste.faceMask = { _ in ParseMask.faceMask(labels: labels, height: 512, width: 512) }
        }
        let mask = try paste.blendMask(for: face, onto: photo.bgr)
        let name = "mask_face0_up\(setting.upscale)_\(setting.parse ? "parse" : "noparse").png"
        let expected = try ImageDecoder.decode(Data(contentsOf: Fixtures.url("facelib/align_paste_04/\(name)")))
        #expect(expected.bitDepth == 16 && expected.channels == 1 && expected.pixelCount == mask.count)
        let worst = zip(mask, expected.pixels16).map { abs(Int(($0 * 65535).rounded()) - Int($1)) }.max() ?? 99
        print("parity \(name): max difference \(worst) of 65535")
        #expect(worst <= 1)
    }
}
