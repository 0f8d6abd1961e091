import Tensors

// Bilinear resizing with antialiasing, as PyTorch computes it for float tensors:
// `torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False, antialias=True)`,
// which is what torchvision's `Resize(size, antialias=True)` runs on a float image tensor.
// (aten/src/ATen/native/cpu/UpSampleKernel.cpp: `_compute_indices_min_size_weights_aa` and the
// separable horizontal-then-vertical passes.) The arithmetic mirrors the C++ float/double promotions
// so that the weights match PyTorch's to the last bit.
//
// Shape letters: H, W input height and width; h, w output (after resize and crop); C = 3 channels.

// MARK: - Filter taps

// `ResampleTaps` (Tensors): for each output position, the first input index, the number of taps
// and the normalised weights.

/// The triangle-filter taps of antialiased bilinear resizing from `inputSize` to `outputSize`
/// samples, for the output positions in `outputRange` (a crop window needs no others).
/// Downscaling widens the triangle by the scale factor (that is the antialiasing); upscaling
/// uses the plain two-tap bilinear triangle.
func antialiasedBilinearTaps(inputSize: Int, outputSize: Int, outputRange: Range<Int>) -> ResampleTaps {
    antialiasedTaps(inputSize: inputSize, outputSize: outputSize, outputRange: outputRange, interpolationSize: 2) { magnitude in
        magnitude < 1 ? 1 - magnitude : 0
    }
}

/// The taps of PyTorch's antialiased resampling (`_compute_indices_min_size_weights_aa`) for a filter
/// of `interpolationSize` taps at scale 1 (2 bilinear, 4 bicubic) given as a function of |distance|:
/// downscaling widens the filter by the scale factor, upscaling uses it as it is; weights are
/// normalized to sum to one.
func antialiasedTaps(inputSize: Int, outputSize: Int, outputRange: Range<Int>, interpolationSize: Int,
                     filter: (Float) -> Float) -> ResampleTaps {
    precondition(inputSize > 0 && outputSize > 0, "antialiasedTaps: sizes must be positive")
    // PyTorch: scale = (float)input / output; center = scale * (i + 0.5) in double; taps past the input cut.
    let scale = Float(inputSize) / Float(outputSize)
    return ResampleTaps.antialiased(inputSize: inputSize, outputRange: outputRange, scale: scale, interpolationSize: interpolationSize,
                                    foldOutside: false, center: { Float(Double(scale) * (Double($0) + 0.5)) }, filter: filter)
}

// MARK: - Fused resize, crop and normalize

/// Resizes an RGB image, crops (or zero-pads) the centre window and normalizes it, computing only the
/// pixels inside the window.
///
/// - image: uint8 [H, W, C] (`inputHeight` × `inputWidth`).
/// - out: float32 [C, cropHeight, cropWidth].
/// - `resizedHeight`/`resizedWidth`: the size after resizing (equal to the input: no resize on that axis).
/// - `cropTop`/`cropLeft`: window offset in the resized image; negative where the window is larger
///   (zero padding, as torchvision's `center_crop`: the padded pixels are 0 before normalization).
/// - `lookup`: 256 floats, uint8 value → float (the rescaling, usually v / 255).
/// - `mean`, `std`: per channel; the result is (x - mean) / std, divided as torchvision's `normalize` does.
func resizeCropNormalize(
    _ out: UnsafeMutablePointer<Float>, _ image: UnsafePointer<UInt8>,
    inputHeight: Int, inputWidth: Int, resizedHeight: Int, resizedWidth: Int,
    cropTop: Int, cropLeft: Int, cropHeight: Int, cropWidth: Int,
    lookup: UnsafePointer<Float>, mean: (Float, Float, Float), std: (Float, Float, Float)
) {
    // The window's in-range rows and columns of the resized image.
    let rowRange = max(cropTop, 0)..<min(cropTop + cropHeight, resizedHeight)
    let columnRange = max(cropLeft, 0)..<min(cropLeft + cropWidth, resizedWidth)
    let plane = cropHeight * cropWidth
    // Padding first: every output pixel outside the resized image is (0 - mean) / std.
    let padded = (0 - mean.0) / std.0, padded1 = (0 - mean.1) / std.1, padded2 = (0 - mean.2) / std.2
    if rowRange.count < cropHeight || columnRange.count < cropWidth {
        for p in 0..<plane {
            out[p] = padded
            out[plane + p] = padded1
            out[2 * plane + p] = padded2
        }
    }
    guard !rowRange.isEmpty, !columnRange.isEmpty else { return }

    let horizontal = resizedWidth == inputWidth
        ? ResampleTaps.identity(outputRange: columnRange)
        : antialiasedBilinearTaps(inputSize: inputWidth, outputSize: resizedWidth, outputRange: columnRange)
    let vertical = resizedHeight == inputHeight
        ? ResampleTaps.identity(outputRange: rowRange)
        : antialiasedBilinearTaps(inputSize: inputHeight, outputSize: resizedHeight, outputRange: rowRange)
    // Input rows the vertical pass reads.
    var firstRow = Int.max, endRow = 0
    for (slot, start) in vertical.starts.enumerated() where vertical.counts[slot] > 0 {
        firstRow = min(firstRow, start)
        endRow = max(endRow, start + vertical.counts[slot])
    }
    guard firstRow < endRow else { return }
    let columns = columnRange.count
    let rowStride = columns * 3

    // Horizontal pass: needed input rows → [rows, columns, C] floats.
    var temporary = [Float](repeating: 0, count: (endRow - firstRow) * rowStride)
    temporary.withUnsafeMutableBufferPointer { temporary in
        horizontal.weights.withUnsafeBufferPointer { weights in
            for y in firstRow..<endRow {
                let source = image + y * inputWidth * 3
                let destination = temporary.baseAddress! + (y - firstRow) * rowStride
                for x in 0..<columns {
                    let start = horizontal.starts[x], count = horizontal.counts[x]
                    let w = weights.baseAddress! + x * horizontal.maximumTaps
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    if count > 0 {
                        let p = source + start * 3
                        r = lookup[Int(p[0])] * w[0]
                        g = lookup[Int(p[1])] * w[0]
                        b = lookup[Int(p[2])] * w[0]
                        var j = 1
                        while j < count {
                            r += lookup[Int(p[3 * j])] * w[j]
                            g += lookup[Int(p[3 * j + 1])] * w[j]
                            b += lookup[Int(p[3 * j + 2])] * w[j]
                            j += 1
                        }
                    }
                    destination[3 * x] = r
                    destination[3 * x + 1] = g
                    destination[3 * x + 2] = b
                }
            }
        }

        // Vertical pass and normalization: → out[c, row, column] inside the window.
        var accumulator = [Float](repeating: 0, count: rowStride)
        accumulator.withUnsafeMutableBufferPointer { accumulator in
            let sum = accumulator.baseAddress!
            for (slot, row) in rowRange.enumerated() {
                let start = vertical.starts[slot], count = vertical.counts[slot]
                if count == 0 {
                    sum.update(repeating: 0, count: rowStride)
                } else {
                    let weightBase = slot * vertical.maximumTaps
                    var source = temporary.baseAddress! + (start - firstRow) * rowStride
                    let w0 = vertical.weights[weightBase]
                    for k in 0..<rowStride { sum[k] = source[k] * w0 }
                    for j in 1..<count {
                        source += rowStride
                        let wj = vertical.weights[weightBase + j]
                        for k in 0..<rowStride { sum[k] += source[k] * wj }
                    }
                }
                let outputRow = (row - cropTop) * cropWidth + (columnRange.lowerBound - cropLeft)
                for x in 0..<columns {
                    out[outputRow + x] = (sum[3 * x] - mean.0) / std.0
                    out[plane + outputRow + x] = (sum[3 * x + 1] - mean.1) / std.1
                    out[2 * plane + outputRow + x] = (sum[3 * x + 2] - mean.2) / std.2
                }
            }
        }
    }
}

// MARK: - Reference

/// Naive twin of `resizeCropNormalize`: resizes the whole image (horizontal pass over every row, then
/// vertical), then crops or pads, then normalizes, with no shortcuts. Same shapes and arguments.
func resizeCropNormalizeReference(
    _ out: UnsafeMutablePointer<Float>, _ image: UnsafePointer<UInt8>,
    inputHeight: Int, inputWidth: Int, resizedHeight: Int, resizedWidth: Int,
    cropTop: Int, cropLeft: Int, cropHeight: Int, cropWidth: Int,
    lookup: UnsafePointer<Float>, mean: (Float, Float, Float), std: (Float, Float, Float)
) {
    // [C, H, W] floats.
    var planes = [Float](repeating: 0, count: 3 * inputHeight * inputWidth)
    for y in 0..<inputHeight {
        for x in 0..<inputWidth {
            for c in 0..<3 { planes[(c * inputHeight + y) * inputWidth + x] = lookup[Int(image[(y * inputWidth + x) * 3 + c])] }
        }
    }
    // Horizontal: [C, H, W] → [C, H, resizedWidth].
    var widened = planes
    if resizedWidth != inputWidth {
        let taps = antialiasedBilinearTaps(inputSize: inputWidth, outputSize: resizedWidth, outputRange: 0..<resizedWidth)
        widened = [Float](repeating: 0, count: 3 * inputHeight * resizedWidth)
        for c in 0..<3 {
            for y in 0..<inputHeight {
                for x in 0..<resizedWidth {
                    var value: Float = 0
                    for j in 0..<taps.counts[x] {
                        let term = planes[(c * inputHeight + y) * inputWidth + taps.starts[x] + j] * taps.weights[x * taps.maximumTaps + j]
                        value = j == 0 ? term : value + term
                    }
                    widened[(c * inputHeight + y) * resizedWidth + x] = value
                }
            }
        }
    }
    // Vertical: [C, H, resizedWidth] → [C, resizedHeight, resizedWidth].
    var resized = widened
    if resizedHeight != inputHeight {
        let taps = antialiasedBilinearTaps(inputSize: inputHeight, outputSize: resizedHeight, outputRange: 0..<resizedHeight)
        resized = [Float](repeating: 0, count: 3 * resizedHeight * resizedWidth)
        for c in 0..<3 {
            for y in 0..<resizedHeight {
                for x in 0..<resizedWidth {
                    var value: Float = 0
                    for j in 0..<taps.counts[y] {
                        let term = widened[(c * inputHeight + taps.starts[y] + j) * resizedWidth + x] * taps.weights[y * taps.maximumTaps + j]
                        value = j == 0 ? term : value + term
                    }
                    resized[(c * resizedHeight + y) * resizedWidth + x] = value
                }
            }
        }
    }
    // Crop with zero padding, then normalize.
    let means = [mean.0, mean.1, mean.2], stds = [std.0, std.1, std.2]
    for c in 0..<3 {
        for y in 0..<cropHeight {
            for x in 0..<cropWidth {
                let sourceY = y + cropTop, sourceX = x + cropLeft
                let inside = sourceY >= 0 && sourceY < resizedHeight && sourceX >= 0 && sourceX < resizedWidth
                let value = inside ? resized[(c * resizedHeight + sourceY) * resizedWidth + sourceX] : 0
                out[(c * cropHeight + y) * cropWidth + x] = (value - means[c]) / stds[c]
            }
        }
    }
}
