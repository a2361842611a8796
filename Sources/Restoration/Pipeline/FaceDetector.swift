import Foundation
package import Imaging
package import Networks
package import TensorCore

/// One face as the official helper keeps it, in `input_img` pixels.
package struct DetectedFace: Sendable, Equatable {
    /// `(x1, y1, x2, y2)`, not clipped to the image.
    package var box: [Float]
    /// The detector's score divided by the detection scale, as `get_face_landmarks_5` stores it
    /// (it divides the whole row); kept for parity, not a probability.
    package var score: Float
    /// Five landmarks `(x, y)`: eyes, nose, mouth corners (upright face: smaller x first).
    package var landmarks: [Float]

    package init(box: [Float], score: Float, landmarks: [Float]) {
        precondition(box.count == 4 && landmarks.count == 10, "a face is 4 box values and 10 landmark values")
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }
}

/// `FaceRestoreHelper.get_face_landmarks_5(resize=640, eye_dist_threshold=5)` with RetinaFace's
/// `detect_faces` (sczhou/CodeFormer `facelib/utils/face_restoration_helper.py`,
/// `facelib/detection/retinaface/retinaface.py`).
package struct FaceDetector: Sendable {
    package let network: RetinaFace
    package var postProcessing = RetinaFacePostProcessing()
    /// The short side the image is resized to before detection.
    package var resizeShortSide = 640
    /// Faces whose (quirky, see `eyeDistance`) eye distance is below this are dropped.
    package var eyeDistanceThreshold: Float = 5

    /// RetinaFace's per-channel means, B, G, R.
    package static let mean: [Float] = [104, 117, 123]

    package init(network: RetinaFace) {
        self.network = network
    }

    /// The image the network sees and the scale it was resized by: `scale = 640 / min(h, w)`, size
    /// truncated, INTER_AREA when shrinking, else INTER_LINEAR (explicit size, per-axis ratio).
    package func detectorImage(_ inputImage: Image) -> (image: Image, scale: Double) {
        let (w, h, scale) = Self.detectorSize(width: inputImage.width, height: inputImage.height, shortSide: resizeShortSide)
        return (inputImage.resized(width: w, height: h, interpolation: scale < 1 ? .area : .linear), scale)
    }

    /// The size of the detector's copy of a `width × height` image, and its scale.
    package static func detectorSize(width: Int, height: Int, shortSide: Int = 640) -> (width: Int, height: Int, scale: Double) {
        let scale = Double(shortSide) / Double(max(1, min(width, height)))
        return (Int(Double(width) * scale), Int(Double(height) * scale), scale)
    }

    /// `float32(BGR) - (104, 117, 123)`, NCHW.
    package static func networkInput(_ bgr: Image) throws -> Tensor {
        precondition(bgr.channels == 3 && bgr.bitDepth == 8, "the detector takes 8-bit BGR")
        let plane = bgr.pixelCount
        let out = try Tensor(uninitialized: [1, 3, bgr.height, bgr.width])
        bgr.pixels8.withUnsafeBufferPointer { p in
            for c in 0..<3 {
                let dst = out.data + c * plane, m = mean[c]
                for i in 0..<plane { dst[i] = Float(p[3 * i + c]) - m }
            }
        }
        return out
    }

    /// Faces in `inputImage` (the helper's `input_img`: 8-bit BGR), in the detector's score order.
    package func detect(in inputImage: Image, onlyCenterFace: Bool = false) throws -> [DetectedFace] {
        let (image, scale) = detectorImage(inputImage)
        let out = try network(Self.networkInput(image))
        let rows = try postProcessing.detections(loc: out.loc, confidenceLogits: out.confidenceLogits, landmarks: out.landmarks,
                                             height: image.height, width: image.width)
        var faces = faces(fromDetectorRows: rows, scale: scale)
        if onlyCenterFace, let center = Self.centerFaceIndex(faces, width: inputImage.width, height: inputImage.height) {
            faces = [faces[center]]
        }
        return faces
    }

    /// Rows from `detect_faces` (detector pixels) back to `input_img`: the whole row (score included)
    /// divided by `scale` in float32, then the eye-distance filter.
    package func faces(fromDetectorRows rows: [[Float]], scale: Double) -> [DetectedFace] {
        let s = Float(scale)
        return rows.compactMap { row in
            let r = row.map { $0 / s }
            guard Self.eyeDistance(r) >= eyeDistanceThreshold else { return nil }
            return DetectedFace(box: Array(r[0..<4]), score: r[4], landmarks: Array(r[5..<15]))
        }
    }

    /// The helper's "eye distance": `norm([row[6] - row[8], row[7] - row[9]])`, i.e. the left eye's y
    /// minus the right eye's y and the right eye's x minus the nose's x. Not the distance between the
    /// eyes; kept because it decides which faces the official pipeline drops.
    package static func eyeDistance(_ row: [Float]) -> Float {
        let dx = row[6] - row[8], dy = row[7] - row[9]
        return (dx * dx + dy * dy).squareRoot()
    }

    /// `get_center_face`: the face whose box centre is nearest the image centre (first on ties).
    package static func centerFaceIndex(_ faces: [DetectedFace], width: Int, height: Int) -> Int? {
        let (cx, cy) = (Double(width) / 2, Double(height) / 2)
        var best: (index: Int, distance: Double)?
        for (i, face) in faces.enumerated() {
            let fx = (Double(face.box[0]) + Double(face.box[2])) / 2, fy = (Double(face.box[1]) + Double(face.box[3])) / 2
            let d = ((fx - cx) * (fx - cx) + (fy - cy) * (fy - cy)).squareRoot()
            if best == nil || d < best!.distance { best = (i, d) }
        }
        return best?.index
    }
}
