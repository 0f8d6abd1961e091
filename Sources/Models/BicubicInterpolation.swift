import Tensors

// Bicubic resampling of float32 [N, C, H, W] tensors as PyTorch computes it:
// `F.interpolate(x, size, mode="bicubic", align_corners=False)` (cubic convolution with A = −0.75,
// source index scale·(i + ½) − ½, the four taps clamped to the border;
// aten/src/ATen/native/UpSample.h `get_cubic_upsample_coefficients`) and, with `antialias: true`,
// the separable antialiased filter with a = −0.5 that widens with the downscaling factor
// (`_upsample_bicubic2d_aa`). DINOv2 resizes its position embeddings with these for other image sizes.

extension Tensor {
    /// `self` [N, C, H, W] resized to [N, C, height, width] by bicubic interpolation (PyTorch's
    /// `interpolate(mode="bicubic", align_corners=False, antialias: antialias)`).
    func interpolatedBicubic(height: Int, width: Int, antialias: Bool) -> Tensor {
        precondition(rank == 4 && height > 0 && width > 0, "interpolatedBicubic: [N, C, H, W] input and a positive size expected, got \(shape)")
        let (planes, inputHeight, inputWidth) = (shape[0] * shape[1], shape[2], shape[3])
        let rows = antialias ? bicubicAntialiasedTaps(inputSize: inputHeight, outputSize: height)
                             : bicubicTaps(inputSize: inputHeight, outputSize: height)
        let columns = antialias ? bicubicAntialiasedTaps(inputSize: inputWidth, outputSize: width)
                                : bicubicTaps(inputSize: inputWidth, outputSize: width)
        let source = toArray()
        var output = [Float](repeating: 0, count: planes * height * width)
        // Horizontal pass over every input row, then vertical: out = Σ_i wy_i · Σ_j wx_j · x[y_i, x_j].
        var widened = [Float](repeating: 0, count: inputHeight * width)
        for plane in 0..<planes {
            let input = plane * inputHeight * inputWidth
            for y in 0..<inputHeight {
                for x in 0..<width {
                    var sum: Float = 0
                    for (index, weight) in columns[x] { sum += source[input + y * inputWidth + index] * weight }
                    widened[y * width + x] = sum
                }
            }
            let base = plane * height * width
            for y in 0..<height {
                for x in 0..<width {
                    var sum: Float = 0
                    for (index, weight) in rows[y] { sum += widened[index * width + x] * weight }
                    output[base + y * width + x] = sum
                }
            }
        }
        return Tensor(shape: [shape[0], shape[1], height, width], scalars: output)
    }
}

/// The four clamped taps of plain bicubic interpolation for each output position.
private func bicubicTaps(inputSize: Int, outputSize: Int) -> [[(index: Int, weight: Float)]] {
    let scale = Float(inputSize) / Float(outputSize)
    let a: Float = -0.75
    func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return (0..<outputSize).map { i in
        let real = scale * (Float(i) + 0.5) - 0.5
        let floor = real.rounded(.down)
        let t = real - floor
        let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
        return (0..<4).map { k in (min(max(Int(floor) - 1 + k, 0), inputSize - 1), weights[k]) }
    }
}

/// The antialiased bicubic taps (a = −0.5) for each output position.
private func bicubicAntialiasedTaps(inputSize: Int, outputSize: Int) -> [[(index: Int, weight: Float)]] {
    let taps = antialiasedTaps(inputSize: inputSize, outputSize: outputSize, outputRange: 0..<outputSize, interpolationSize: 4) { x in
        let a: Float = -0.5
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }
    return (0..<outputSize).map { i in
        (0..<taps.counts[i]).map { j in (taps.starts[i] + j, taps.weights[i * taps.maximumTaps + j]) }
    }
}
