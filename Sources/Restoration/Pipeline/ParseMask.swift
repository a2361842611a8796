import Imaging
package import Networks
package import TensorCore

/// The soft face mask paste-back derives from ParseNet (`paste_faces_to_input_image` with
/// `use_parse=True` in sczhou/CodeFormer `facelib/utils/face_restoration_helper.py`).
package enum ParseMask {
    /// `MASK_COLORMAP`: 255 for the labels kept as face, 0 for background (0), neck (14), cloth (16),
    /// hair (17) and hat (18).
    package static let colormap: [Double] = [0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0]
    /// `cv2.GaussianBlur(mask, (101, 101), 11)`, applied twice.
    package static let blurSize = 101
    package static let blurSigma = 11.0
    /// Rows/columns zeroed at every side after the blur (`thres`).
    package static let frame = 10

    /// The face mask in [0, 1], in Float64 as the reference computes it: labels -> {0, 255}, blurred
    /// twice, a 10-pixel frame set to 0, divided by 255. Row-major `height * width`.
    package static func faceMask(labels: [Int32], height: Int, width: Int) -> [Double] {
        precondition(labels.count == height * width, "\(labels.count) labels for \(width)x\(height)")
        var mask = labels.map { label -> Double in
            let index = Int(label)
            return index >= 0 && index < colormap.count ? colormap[index] : 0
        }
        mask = PlaneFilters.gaussianBlurred(mask, width: width, height: height, size: blurSize, sigma: blurSigma)
        mask = PlaneFilters.gaussianBlurred(mask, width: width, height: height, size: blurSize, sigma: blurSigma)
        for y in 0..<height {
            for x in 0..<width where y < frame || y >= height - frame || x < frame || x >= width - frame {
                mask[y * width + x] = 0
            }
        }
        return mask.map { $0 / 255 }
    }

    /// ParseNet's input for a restored face: `cv2.resize(face, (512, 512))`, `/255` in Float32, BGR ->
    /// RGB, `(x - 0.5) / 0.5`. `bgr` is interleaved 3-channel, 8-bit values or Float64 (grey faces).
    package static func networkInput(bgr: [Double], width: Int, height: Int) throws -> Tensor {
        precondition(width == 512 && height == 512, "paste-back parses 512x512 faces (got \(width)x\(height))")
        let plane = width * height
        let out = try Tensor(uninitialized: [1, 3, height, width])
        for i in 0..<plane {
            for c in 0..<3 {
                // astype('float32') / 255. : Float32 division; then normalize in Float32.
                let v = Float(bgr[3 * i + c]) / 255
                out.data[(2 - c) * plane + i] = (v - 0.5) / 0.5
            }
        }
        return out
    }

    /// The whole chain for one restored face: ParseNet, first-maximum labels, `faceMask`.
    package static func faceMask(parser: ParseNet, bgr: [Double], width: Int, height: Int) throws -> [Double] {
        let (logits, _) = try parser(networkInput(bgr: bgr, width: width, height: height))
        return faceMask(labels: try ParseNet.labels(fromLogits: logits), height: height, width: width)
    }
}
