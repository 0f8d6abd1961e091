// Pooling over [N, C, H, W] (PyTorch semantics, including ceil_mode and count_include_pad).

extension Tensor {
    private static func pooledSize(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
        let span = size + 2 * padding - dilation * (kernel - 1) - 1
        var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        // PyTorch: the last window must start inside the input or the left padding.
        if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }

    public func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "maxPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        let stride = stride ?? kernelSize
        precondition(padding.0 * 2 <= kernelSize.0 && padding.1 * 2 <= kernelSize.1,
                     "maxPool2d: padding \(padding) must be at most half the kernel \(kernelSize)")
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let P = Tensor.pooledSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        let Q = Tensor.pooledSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        var out = Tensor(uninitializedShape: [N, C, P, Q])
        var argmax = [Int32](repeating: 0, count: N * C * P * Q)
        out.withMutableFloats { o in
            withFloats { x in
                for plane in 0..<(N * C) {
                    let base = plane * H * W
                    for p in 0..<P {
                        for q in 0..<Q {
                            var best = -Float.infinity, bestIndex = -1
                            for r in 0..<kernelSize.0 {
                                let h = p * stride.0 - padding.0 + r * dilation.0
                                if h < 0 || h >= H { continue }
                                for s in 0..<kernelSize.1 {
                                    let w = q * stride.1 - padding.1 + s * dilation.1
                                    if w < 0 || w >= W { continue }
                                    let v = x[base + h * W + w]
                                    if v > best || v.isNaN || bestIndex < 0 { best = v; bestIndex = h * W + w }
                                }
                            }
                            o[(plane * P + p) * Q + q] = best
                            argmax[(plane * P + p) * Q + q] = Int32(bestIndex)
                        }
                    }
                }
            }
        }
        return out.recordingGradient("max_pool2d", inputs: [self]) { [shape] g in
            var grad = Tensor(zeros: shape)
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    for plane in 0..<(N * C) {
                        for i in 0..<(P * Q) {
                            d[plane * H * W + Int(argmax[plane * P * Q + i])] += gg[plane * P * Q + i]
                        }
                    }
                }
            }
            return [grad]
        }
    }

    public func avgPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "avgPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        let stride = stride ?? kernelSize
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let P = Tensor.pooledSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: 1, ceilMode: ceilMode)
        let Q = Tensor.pooledSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: 1, ceilMode: ceilMode)
        // Window [h0, h1) × [w0, w1) and its divisor, as PyTorch computes them.
        func window(_ p: Int, _ q: Int) -> (Int, Int, Int, Int, Int) {
            var h0 = p * stride.0 - padding.0, w0 = q * stride.1 - padding.1
            var h1 = Swift.min(h0 + kernelSize.0, H + padding.0), w1 = Swift.min(w0 + kernelSize.1, W + padding.1)
            let paddedArea = (h1 - h0) * (w1 - w0)
            h0 = Swift.max(h0, 0); w0 = Swift.max(w0, 0); h1 = Swift.min(h1, H); w1 = Swift.min(w1, W)
            return (h0, h1, w0, w1, countIncludePad ? paddedArea : (h1 - h0) * (w1 - w0))
        }
        var out = Tensor(uninitializedShape: [N, C, P, Q])
        out.withMutableFloats { o in
            withFloats { x in
                for plane in 0..<(N * C) {
                    for p in 0..<P {
                        for q in 0..<Q {
                            let (h0, h1, w0, w1, divisor) = window(p, q)
                            var total: Float = 0
                            for h in h0..<Swift.max(h0, h1) { for w in w0..<Swift.max(w0, w1) { total += x[plane * H * W + h * W + w] } }
                            o[(plane * P + p) * Q + q] = total / Float(divisor)
                        }
                    }
                }
            }
        }
        return out.recordingGradient("avg_pool2d", inputs: [self]) { [shape] g in
            var grad = Tensor(zeros: shape)
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    for plane in 0..<(N * C) {
                        for p in 0..<P {
                            for q in 0..<Q {
                                let (h0, h1, w0, w1, divisor) = window(p, q)
                                let share = gg[(plane * P + p) * Q + q] / Float(divisor)
                                for h in h0..<Swift.max(h0, h1) { for w in w0..<Swift.max(w0, w1) { d[plane * H * W + h * W + w] += share } }
                            }
                        }
                    }
                }
            }
            return [grad]
        }
    }

    /// Average pooling to a fixed output size (PyTorch's adaptive windows: start ⌊i·H/P⌋, end ⌈(i+1)·H/P⌉).
    public func adaptiveAvgPool2d(outputSize: (Int, Int)) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "adaptiveAvgPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let (P, Q) = outputSize
        var out = Tensor(uninitializedShape: [N, C, P, Q])
        func bounds(_ i: Int, _ outSize: Int, _ inSize: Int) -> (Int, Int) {
            (i * inSize / outSize, ((i + 1) * inSize + outSize - 1) / outSize)
        }
        out.withMutableFloats { o in
            withFloats { x in
                for plane in 0..<(N * C) {
                    for p in 0..<P {
                        let (h0, h1) = bounds(p, P, H)
                        for q in 0..<Q {
                            let (w0, w1) = bounds(q, Q, W)
                            var total: Float = 0
                            for h in h0..<h1 { for w in w0..<w1 { total += x[plane * H * W + h * W + w] } }
                            o[(plane * P + p) * Q + q] = total / Float((h1 - h0) * (w1 - w0))
                        }
                    }
                }
            }
        }
        return out.recordingGradient("adaptive_avg_pool2d", inputs: [self]) { [shape] g in
            var grad = Tensor(zeros: shape)
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    for plane in 0..<(N * C) {
                        for p in 0..<P {
                            let (h0, h1) = bounds(p, P, H)
                            for q in 0..<Q {
                                let (w0, w1) = bounds(q, Q, W)
                                let share = gg[(plane * P + p) * Q + q] / Float((h1 - h0) * (w1 - w0))
                                for h in h0..<h1 { for w in w0..<w1 { d[plane * H * W + h * W + w] += share } }
                            }
                        }
                    }
                }
            }
            return [grad]
        }
    }
}
