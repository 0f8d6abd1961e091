// Pooling over [N, C, H, W], one output element at a time (PyTorch semantics: ceil_mode,
// count_include_pad, adaptive windows).

extension Reference {
    /// Max pool; windows only see real input elements (padding is −inf); NaN wins.
    public static func maxPool2d(_ x: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                                 dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) -> Tensor {
        maxPool2dWithIndices(x, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode).0
    }

    /// Max pool plus, per output element, the flat index inside its input plane of the element chosen.
    static func maxPool2dWithIndices(_ x: Tensor, kernelSize: (Int, Int), stride: (Int, Int)?, padding: (Int, Int),
                                     dilation: (Int, Int), ceilMode: Bool) -> (Tensor, [Int32]) {
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let P = pooledOutputSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        let Q = pooledOutputSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        let input = x.toArray()
        var out = [Float](repeating: 0, count: N * C * P * Q), argmax = [Int32](repeating: 0, count: N * C * P * Q)
        for plane in 0..<(N * C) {
            for p in 0..<P {
                for q in 0..<Q {
                    var best = -Float.infinity, bestIndex = -1
                    for r in 0..<kernelSize.0 {
                        let h = p * stride.0 - padding.0 + r * dilation.0
                        if h < 0 || h >= H { continue }
                        for s in 0..<kernelSize.1 {
                            let w = q * stride.1 - padding.1 + s * dilation.1
                            if w < 0 || w >= W { continue }
                            let v = input[plane * H * W + h * W + w]
                            if bestIndex < 0 || (!best.isNaN && (v > best || v.isNaN)) { best = v; bestIndex = h * W + w }
                        }
                    }
                    out[(plane * P + p) * Q + q] = best
                    argmax[(plane * P + p) * Q + q] = Int32(bestIndex)
                }
            }
        }
        return (Tensor(shape: [N, C, P, Q], scalars: out), argmax)
    }

    /// Average pool; the divisor counts padding unless `countIncludePad` is false, and never
    /// counts the part of a ceil-mode window beyond the padding.
    public static func avgPool2d(_ x: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                                 ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let P = pooledOutputSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: 1, ceilMode: ceilMode)
        let Q = pooledOutputSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: 1, ceilMode: ceilMode)
        let input = x.toArray()
        var out = [Float](repeating: 0, count: N * C * P * Q)
        for plane in 0..<(N * C) {
            for p in 0..<P {
                for q in 0..<Q {
                    var h0 = p * stride.0 - padding.0, w0 = q * stride.1 - padding.1
                    var h1 = Swift.min(h0 + kernelSize.0, H + padding.0), w1 = Swift.min(w0 + kernelSize.1, W + padding.1)
                    let paddedArea = (h1 - h0) * (w1 - w0)
                    h0 = Swift.max(h0, 0); w0 = Swift.max(w0, 0); h1 = Swift.min(h1, H); w1 = Swift.min(w1, W)
                    let divisor = countIncludePad ? paddedArea : (h1 - h0) * (w1 - w0)
                    var total: Double = 0
                    for h in h0..<Swift.max(h0, h1) { for w in w0..<Swift.max(w0, w1) { total += Double(input[plane * H * W + h * W + w]) } }
                    out[(plane * P + p) * Q + q] = Float(total / Double(divisor))
                }
            }
        }
        return Tensor(shape: [N, C, P, Q], scalars: out)
    }

    /// Adaptive average pool: output (i, j) averages rows ⌊i·H/P⌋..<⌈(i+1)·H/P⌉ and the same for columns.
    public static func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (P, Q) = outputSize
        let input = x.toArray()
        var out = [Float](repeating: 0, count: N * C * P * Q)
        for plane in 0..<(N * C) {
            for p in 0..<P {
                let h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P
                for q in 0..<Q {
                    let w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q
                    var total: Double = 0
                    for h in h0..<h1 { for w in w0..<w1 { total += Double(input[plane * H * W + h * W + w]) } }
                    out[(plane * P + p) * Q + q] = Float(total / Double((h1 - h0) * (w1 - w0)))
                }
            }
        }
        return Tensor(shape: [N, C, P, Q], scalars: out)
    }
}
