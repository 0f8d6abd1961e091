// Pooling over [N, C, H, W] (PyTorch semantics, including ceil_mode and count_include_pad).
// Forward passes run the separable kernels of Kernels/PoolingKernels.swift; naive twins:
// `Reference.maxPool2d`, `.avgPool2d`, `.adaptiveAvgPool2d`.

extension Tensor {
    public func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "maxPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        let stride = stride ?? kernelSize
        precondition(kernelSize.0 > 0 && kernelSize.1 > 0 && stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0,
                     "maxPool2d: kernel \(kernelSize), stride \(stride) and dilation \(dilation) must be positive")
        precondition(padding.0 * 2 <= kernelSize.0 && padding.1 * 2 <= kernelSize.1,
                     "maxPool2d: padding \(padding) must be at most half the kernel \(kernelSize)")
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let P = pooledOutputSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        let Q = pooledOutputSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        precondition(P > 0 && Q > 0, "maxPool2d: input \(shape) is too small for kernel \(kernelSize) (output \(P)×\(Q))")
        if Tensor.shouldRecord(self) {
            // The backward pass needs which element won each window: the reference loop records it.
            let (out, argmax) = Reference.maxPool2dWithIndices(self.detached(), kernelSize: kernelSize, stride: stride,
                                                               padding: padding, dilation: dilation, ceilMode: ceilMode)
            return out.recordingGradient("max_pool2d", inputs: [self]) { [shape] g in
                var grad = Tensor(zeros: shape)
                grad.withMutableFloats { d in
                    g.withFloats { gg in
                        for plane in 0..<(N * C) {
                            for i in 0..<(P * Q) where argmax[plane * P * Q + i] >= 0 {
                                d[plane * H * W + Int(argmax[plane * P * Q + i])] += gg[plane * P * Q + i]
                            }
                        }
                    }
                }
                return [grad]
            }
        }
        let out = Tensor(uninitializedShape: [N, C, P, Q])
        let rows = PoolingWindow.maximum(inputSize: H, outputSize: P, kernel: kernelSize.0, stride: stride.0,
                                         padding: padding.0, dilation: dilation.0)
        let columns = PoolingWindow.maximum(inputSize: W, outputSize: Q, kernel: kernelSize.1, stride: stride.1,
                                            padding: padding.1, dilation: dilation.1)
        withFloats { x in
            maxPool2dKernel(out: out.mutableFloatPointer, x: x.baseAddress!, planes: N * C, height: H, width: W,
                            rows: rows, columns: columns, columnStride: stride.1)
        }
        return out
    }

    public func avgPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "avgPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        let stride = stride ?? kernelSize
        precondition(kernelSize.0 > 0 && kernelSize.1 > 0 && stride.0 > 0 && stride.1 > 0,
                     "avgPool2d: kernel \(kernelSize) and stride \(stride) must be positive")
        precondition(padding.0 * 2 <= kernelSize.0 && padding.1 * 2 <= kernelSize.1,
                     "avgPool2d: padding \(padding) must be at most half the kernel \(kernelSize)")
        let (H, W) = (shape[2], shape[3])
        let P = pooledOutputSize(H, kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: 1, ceilMode: ceilMode)
        let Q = pooledOutputSize(W, kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: 1, ceilMode: ceilMode)
        precondition(P > 0 && Q > 0, "avgPool2d: input \(shape) is too small for kernel \(kernelSize) (output \(P)×\(Q))")
        let rows = PoolingWindow.average(inputSize: H, outputSize: P, kernel: kernelSize.0, stride: stride.0,
                                         padding: padding.0, countIncludePad: countIncludePad)
        let columns = PoolingWindow.average(inputSize: W, outputSize: Q, kernel: kernelSize.1, stride: stride.1,
                                            padding: padding.1, countIncludePad: countIncludePad)
        return averagePooled(rows: rows, columns: columns, columnStride: stride.1, operation: "avg_pool2d")
    }

    /// Average pooling to a fixed output size (PyTorch's adaptive windows: start ⌊i·H/P⌋, end ⌈(i+1)·H/P⌉).
    public func adaptiveAvgPool2d(outputSize: (Int, Int)) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "adaptiveAvgPool2d: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        precondition(outputSize.0 > 0 && outputSize.1 > 0, "adaptiveAvgPool2d: output size \(outputSize) must be positive (input \(shape))")
        let rows = PoolingWindow.adaptive(inputSize: shape[2], outputSize: outputSize.0)
        let columns = PoolingWindow.adaptive(inputSize: shape[3], outputSize: outputSize.1)
        // Adaptive windows are evenly spaced only when the sizes divide; then the stride is W / Q.
        let stride = shape[3] % outputSize.1 == 0 ? shape[3] / outputSize.1 : 0
        return averagePooled(rows: rows, columns: columns, columnStride: stride, operation: "adaptive_avg_pool2d")
    }

    /// Window sums divided by the windows' divisors, with the backward pass that spreads each
    /// output's gradient evenly over its window.
    private func averagePooled(rows: [PoolingWindow], columns: [PoolingWindow], columnStride: Int, operation: String) -> Tensor {
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let (P, Q) = (rows.count, columns.count)
        let out = Tensor(uninitializedShape: [N, C, P, Q])
        withFloats { x in
            averagePool2dKernel(out: out.mutableFloatPointer, x: x.baseAddress!, planes: N * C, height: H, width: W,
                                rows: rows, columns: columns, columnStride: columnStride)
        }
        return out.recordingGradient(operation, inputs: [self]) { [shape] g in
            var grad = Tensor(zeros: shape)
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    for plane in 0..<(N * C) {
                        for p in 0..<P {
                            let r = rows[p]
                            for q in 0..<Q {
                                let c = columns[q]
                                let share = gg[(plane * P + p) * Q + q] / Float(r.divisor * c.divisor)
                                for h in r.start..<(r.start + r.count) {
                                    for w in c.start..<(c.start + c.count) { d[plane * H * W + h * W + w] += share }
                                }
                            }
                        }
                    }
                }
            }
            return [grad]
        }
    }
}
