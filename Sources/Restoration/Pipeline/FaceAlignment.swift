package import Imaging

/// `FaceRestoreHelper.align_warp_face`: the similarity that puts a face's five landmarks on the FFHQ
/// template, and the 512x512 crop it cuts (sczhou/CodeFormer `facelib/utils/face_restoration_helper.py`).
package enum FaceAlignment {
    /// The five landmarks of a 512x512 FFHQ face: eyes, nose tip, mouth corners.
    package static let template512: [(x: Double, y: Double)] = [
        (192.98138, 239.94708), (318.90277, 240.1936), (256.63416, 314.01935), (201.26117, 371.41043), (313.08905, 371.15118),
    ]
    /// The crop's border colour, B, G, R (grey).
    package static let borderBGR = [135, 133, 132]

    package static func template(faceSize: Int) -> [(x: Double, y: Double)] {
        let s = Double(faceSize) / 512
        return template512.map { ($0.x * s, $0.y * s) }
    }

    /// The map from the photo onto the face crop (`estimateAffinePartial2D(..., LMEDS)`), or nil for
    /// degenerate landmarks (all on one point).
    package static func affine(landmarks: [Float], faceSize: Int = 512) -> AffineMatrix? {
        precondition(landmarks.count == 10, "five (x, y) landmarks")
        let points = (0..<5).map { (x: Double(landmarks[2 * $0]), y: Double(landmarks[2 * $0 + 1])) }
        return AffineMatrix.similarity(from: points, to: template(faceSize: faceSize))
    }

    /// `cv2.warpAffine(input_img, affine, (faceSize, faceSize), borderValue=(135, 133, 132))` of an
    /// 8-bit BGR image.
    package static func crop(_ bgr: Image, affine: AffineMatrix, faceSize: Int = 512) -> Image {
        bgr.warpedAffine(affine, width: faceSize, height: faceSize, border: borderBGR)
    }
}
