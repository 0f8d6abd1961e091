import Tensors

// Bicubic resampling of float32 [N, C, H, W] tensors as PyTorch computes it:
// `F.interpolate(x, size, mode="bicubic", align_corners=False)` (cubic convolution with A = −0.75,
// source index scale·(i + ½) − ½, the four taps clamped to the border;
// aten/src/ATen/native/UpSample.h `get_cubic_upsample_coefficients`) and, with `antialias: true`,
// the separable antialiased filter with a = −0.5 that widens with the downscaling factor
// (`_upsample_bicubic2d_aa`). DINOv2 resizes its position embeddings with these for other image sizes.
// The taps are PyTorch's; the resampling is `Tensor.resampled` (horizontal pass, then vertical).

extension Tensor {
    /// `self` [N, C, H, W] resized to [N, C, height, width] by bicubic interpolation (PyTorch's
    /// `interpolate(mode="bicubic", align_corners=False, antialias: antialias)`).
    func interpolatedBicubic(height: Int, width: Int, antialias: Bool) -> Tensor {
        precondition(rank == 4 && height > 0 && width > 0, "interpolatedBicubic: [N, C, H, W] input and a positive size expected, got \(shape)")
        let (inputHeight, inputWidth) = (shape[2], shape[3])
        let rows = antialias ? bicubicAntialiasedTaps(inputSize: inputHeight, outputSize: height)
                             : bicubicTaps(inputSize: inputHeight, outputSize: height)
        let columns = antialias ? bicubicAntialiasedTaps(inputSize: inputWidth, outputSize: width)
                                : bicubicTaps(inputSize: inputWidth, outputSize: width)
        return to(.float32).resampled(axis: 3, taps: columns).resampled(axis: 2, taps: rows)
    }
}

/// The four clamped taps of plain bicubic interpolation for each output position.
private func bicubicTaps(inputSize: Int, outputSize: Int) -> ResampleTaps {
    let scale = Float(inputSize) / Float(outputSize)
    let sources = (0..<outputSize).map { scale * (Float($0) + 0.5) - 0.5 }
    return ResampleTaps.cubic(sources: sources, inputSize: inputSize, a: -0.75, excludeOutside: false)
}

/// The antialiased bicubic taps (a = −0.5) for each output position.
private func bicubicAntialiasedTaps(inputSize: Int, outputSize: Int) -> ResampleTaps {
    antialiasedTaps(inputSize: inputSize, outputSize: outputSize, outputRange: 0..<outputSize, interpolationSize: 4) { x in
        let a: Float = -0.5
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }
}
