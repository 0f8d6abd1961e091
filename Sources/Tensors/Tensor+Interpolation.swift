// Resampling of [N, C, H, W] images: bilinear interpolation to a given size (Grad-CAM upsamples
// its maps with it). Kernels in Kernels/InterpolationKernels.swift; naive twin
// `Reference.interpolateBilinear`.

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
