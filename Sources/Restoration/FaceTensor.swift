package import TensorCore

/// Conversions between 8-bit BGR face crops (the reference pipeline's OpenCV arrays) and the
/// network's RGB tensors in [-1, 1], exactly as `img2tensor` + `normalize` and `tensor2img` do.
package enum FaceTensor {
    /// `img2tensor(img / 255., bgr2rgb=True, float32=True)` then `normalize(0.5, 0.5)`:
    /// the division in float64, one rounding to float32, then `(x - 0.5) / 0.5` in float32.
    package static func tensor(fromBGR pixels: [UInt8], width: Int, height: Int) throws -> Tensor {
        precondition(pixels.count == width * height * 3, "expected \(width)x\(height) BGR pixels")
        let plane = width * height
        let out = try Tensor(zeros: [1, 3, height, width])
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = (Float(Double(v) / 255.0) - 0.5) / 0.5 }
        for i in 0..<plane {
            out.data[i] = table[Int(pixels[3 * i + 2])]              // R
            out.data[plane + i] = table[Int(pixels[3 * i + 1])]      // G
            out.data[2 * plane + i] = table[Int(pixels[3 * i])]      // B
        }
        return out
    }

    /// `tensor2img(out, rgb2bgr=True, min_max=(-1, 1))`: clamp, `(x + 1) / 2` in float32,
    /// `* 255`, round half to even, to uint8 BGR.
    package static func bgr(from tensor: Tensor) throws -> [UInt8] {
        let t = try tensor.contiguous()
        precondition(t.rank == 4 && t.shape[0] == 1 && t.shape[1] == 3, "expected (1, 3, H, W), got \(t.shape)")
        let plane = t.shape[2] * t.shape[3]
        var out = [UInt8](repeating: 0, count: plane * 3)
        for c in 0..<3 {
            let src = t.data + c * plane
            let bgrChannel = 2 - c
            for i in 0..<plane {
                let clamped = min(max(src[i], -1), 1)
                let unit = (clamped - -1) / Float(2)
                out[3 * i + bgrChannel] = UInt8((unit * 255).rounded(.toNearestOrEven))
            }
        }
        return out
    }
}
