// Resampling of [N, C, H, W] images: bilinear interpolation to a given size (Grad-CAM upsamples
// its maps with it); and separable resampling of any float32 tensor along one axis with given
// filter taps (bicubic position embeddings, ONNX Resize). Kernels in
// Kernels/InterpolationKernels.swift; naive twins `Reference.interpolateBilinear`, `Reference.resample`.

extension Tensor {
    /// Bilinear resampling of [N, C, H, W] to [N, C, size.0, size.1], PyTorch's
    /// `F.interpolate(x, size=size, mode="bilinear", align_corners=alignCorners)` (no antialiasing).
    public func interpolateBilinear(size: (Int, Int), alignCorners: Bool = false) -> Tensor {
        precondition(rank == 4 && dtype == .float32, "interpolateBilinear: float32 [N, C, H, W] expected, got \(dtype) \(shape)")
        precondition(size.0 > 0 && size.1 > 0, "interpolateBilinear: output size \(size) must be positive (input \(shape))")
        precondition(shape[2] > 0 && shape[3] > 0, "interpolateBilinear: input \(shape) has an empty plane")
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let rows = LinearTaps.bilinear(inputSize: H, outputSize: size.0, alignCorners: alignCorners)
        let columns = LinearTaps.bilinear(inputSize: W, outputSize: size.1, alignCorners: alignCorners)
        let out = Tensor(uninitializedShape: [N, C, size.0, size.1])
        if N * C > 0 {
            withFloats { x in
                bilinearInterpolateKernel(out: out.mutableFloatPointer, x: x.baseAddress!, planes: N * C, height: H, width: W,
                                          rows: rows, columns: columns)
            }
        }
        return out.recordingGradient("interpolate_bilinear", inputs: [self]) { [shape] gradient in
            let result = Tensor(uninitializedShape: shape)
            if N * C > 0 {
                gradient.withFloats { g in
                    bilinearInterpolateBackwardKernel(gradInput: result.mutableFloatPointer, gradOutput: g.baseAddress!,
                                                      planes: N * C, height: H, width: W, rows: rows, columns: columns)
                }
            }
            return [result]
        }
    }
}

extension Tensor {
    /// `self` (float32) resampled along `axis` by `taps`: the axis becomes `taps.outputSize` long and
    /// output position p is Σ_j weight(p, j) · input position starts[p] + j. Resampling a tensor
    /// axis by axis applies a separable filter (bilinear, bicubic, antialiased). Not differentiable.
    public func resampled(axis: Int, taps: ResampleTaps) -> Tensor {
        precondition(dtype == .float32 && axis >= 0 && axis < rank, "resampled: float32 tensor and an axis in 0..<\(rank) expected, got \(dtype) \(shape), axis \(axis)")
        let length = shape[axis]
        for (start, count) in zip(taps.starts, taps.counts) {
            precondition(count >= 0 && count <= taps.maximumTaps && (count == 0 || (start >= 0 && start + count <= length)),
                         "resampled: taps \(start)..<\(start + count) outside an axis of \(length)")
        }
        var outputShape = shape
        outputShape[axis] = taps.outputSize
        let out = Tensor(uninitializedShape: outputShape)
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        if out.count > 0 {
            withFloats { x in
                resampleKernel(out: out.mutableFloatPointer, x: x.baseAddress!, outer: outer, length: length, inner: inner, taps: taps)
            }
        }
        return out
    }
}
