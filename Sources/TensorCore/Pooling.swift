/// Pooling on 4-D feature maps, contiguous (NCHW) or channel-blocked; outputs keep the input's layout.
extension Tensor {
    /// Max pooling (`nn.MaxPool2d(kernel, stride, padding)`, `ceil_mode=False`, dilation 1): padded
    /// positions never win (they count as -infinity), so every window holds at least one input value
    /// whenever `padding < kernel`, as PyTorch requires.
    package func maxPooled(kernel: Int, stride: Int, padding: Int) throws -> Tensor {
        precondition(rank == 4 && kernel > 0 && stride > 0 && padding >= 0 && 2 * padding <= kernel,
                     "max pool kernel \(kernel) stride \(stride) padding \(padding) on \(shape)")
        let input = self
        let block = channelBlock
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (h + 2 * padding - kernel) / stride + 1
        let ow = (w + 2 * padding - kernel) / stride + 1
        let out = try Tensor(uninitialized: [n, c, oh, ow], layout: layout)
        let planes = n * ((c + block - 1) / block)
        parallelFor(planes) { plane in
            let src = input.data + plane * h * w * block
            let dst = out.data + plane * oh * ow * block
            for y in 0..<oh {
                let y0 = max(0, y * stride - padding), y1 = min(h, y * stride - padding + kernel)
                for x in 0..<ow {
                    let x0 = max(0, x * stride - padding), x1 = min(w, x * stride - padding + kernel)
                    let o = dst + (y * ow + x) * block
                    for k in 0..<block { o[k] = -Float.infinity }
                    for sy in y0..<y1 {
                        for sx in x0..<x1 {
                            let s = src + (sy * w + sx) * block
                            for k in 0..<block where s[k] > o[k] || s[k].isNaN { o[k] = s[k] }
                        }
                    }
                }
            }
        }
        return out
    }
}
