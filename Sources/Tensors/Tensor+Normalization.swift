import Foundation

// Normalization layers. Forward passes run the one-pass kernels (Kernels/NormalizationKernels.swift);
// the backward closures are the closed forms of the composed ops' gradients. Naive twins:
// `Reference.batchNorm`, `.layerNorm`, `.groupNorm`.

extension Tensor {
    /// Inference batch norm over axis 1 of [N, C, ...]: (x − mean) / √(var + eps) · weight + bias,
    /// folded into one scale and shift per channel (as PyTorch does at inference).
    /// `applyingReLU` adds a ReLU in the same pass (only when nothing needs the un-fused output).
    public static func batchNorm(_ x: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                 weight: Tensor?, bias: Tensor?, epsilon: Float, applyingReLU: Bool = false) -> Tensor {
        precondition(x.rank >= 2 && x.dtype == .float32, "batchNorm: float32 input [N, C, …] expected, got \(x.dtype) \(x.shape)")
        let (N, C) = (x.shape[0], x.shape[1])
        let S = x.count / Swift.max(N * C, 1)
        precondition(runningMean.shape == [C] && runningVariance.shape == [C],
                     "batchNorm: statistics \(runningMean.shape)/\(runningVariance.shape) do not match input \(x.shape)")
        if let weight { precondition(weight.shape == [C], "batchNorm: weight \(weight.shape) does not match input \(x.shape)") }
        if let bias { precondition(bias.shape == [C], "batchNorm: bias \(bias.shape) does not match input \(x.shape)") }
        let mean = runningMean.toArray(), variance = runningVariance.toArray()
        let w = weight?.toArray(), b = bias?.toArray()
        var scale = [Float](repeating: 0, count: C), shift = [Float](repeating: 0, count: C)
        for c in 0..<C {
            scale[c] = (w?[c] ?? 1) / (variance[c] + epsilon).squareRoot()
            shift[c] = (b?[c] ?? 0) - mean[c] * scale[c]
        }
        let out = Tensor(uninitializedShape: x.shape)
        x.withFloats { source in
            guard let source = source.baseAddress else { return }
            channelAffineKernel(out: out.mutableFloatPointer, x: source, scale: scale, shift: shift,
                                batch: N, channels: C, spatial: S, relu: applyingReLU)
        }
        var inputs = [x, runningMean, runningVariance]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.recordingGradient(applyingReLU ? "batch_norm_relu" : "batch_norm", inputs: inputs) { g, needs in
            var statShape = [Int](repeating: 1, count: x.rank)
            statShape[1] = C
            let axes = (0..<x.rank).filter { $0 != 1 }
            let gy = applyingReLU ? broadcastBinary(g, out.detached()) { grad, y in y > 0 ? grad : 0 } : g
            let inverse = runningVariance.detached().map { 1 / ($0 + epsilon).squareRoot() }
            let weightValue = weight?.detached() ?? Tensor(shape: [C], repeating: 1)
            let channelScale = inverse * weightValue
            let centered = x.detached() - runningMean.detached().reshaped(statShape)
            // Only what the pass wants: serving-time attributions need just the input's gradient.
            let needsSums = needs.dropFirst().contains(true)
            let gradientSum = needsSums ? gy.sum(axes: axes) : nil
            let centeredSum = needsSums ? (gy * centered).sum(axes: axes) : nil
            var gradients: [Tensor?] = [
                needs[0] ? gy * channelScale.reshaped(statShape) : nil,
                needs[1] ? -(gradientSum! * channelScale) : nil,
                needs[2] ? centeredSum! * weightValue * inverse * inverse * inverse * -0.5 : nil,
            ]
            var next = 3
            if weight != nil { gradients.append(needs[next] ? centeredSum! * inverse : nil); next += 1 }
            if bias != nil { gradients.append(needs[next] ? gradientSum : nil) }
            return gradients
        }
    }

    /// Layer norm over the last `normalizedShape` axes (PyTorch's `normalized_shape`), biased variance.
    public static func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.dtype == .float32, "layerNorm: float32 input expected, got \(x.dtype) \(x.shape)")
        precondition(x.shape.suffix(normalizedShape.count) == ArraySlice(normalizedShape),
                     "layerNorm: input \(x.shape) does not end with normalized shape \(normalizedShape)")
        if let weight { precondition(weight.shape == normalizedShape, "layerNorm: weight \(weight.shape) does not match normalized shape \(normalizedShape)") }
        if let bias { precondition(bias.shape == normalizedShape, "layerNorm: bias \(bias.shape) does not match normalized shape \(normalizedShape)") }
        let D = normalizedShape.reduce(1, *)
        let out = Tensor(uninitializedShape: x.shape)
        withOptionalFloats(weight) { w in
            withOptionalFloats(bias) { b in
                x.withFloats { source in
                    guard let source = source.baseAddress else { return }
                    layerNormKernel(out: out.mutableFloatPointer, x: source, weight: w, bias: b,
                                    rows: x.count / Swift.max(D, 1), columns: D, epsilon: epsilon)
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.recordingGradient("layer_norm", inputs: inputs) { g, needs in
            let axes = Array((x.rank - normalizedShape.count)..<x.rank)
            let leading = Array(0..<(x.rank - normalizedShape.count))
            let (normalized, standardDeviation) = standardized(x.detached(), axes: axes, epsilon: epsilon)
            let gw = weight.map { g * $0.detached() } ?? g
            let dx = (gw - gw.mean(axes: axes, keepingDimensions: true)
                      - normalized * (gw * normalized).mean(axes: axes, keepingDimensions: true)) / standardDeviation
            var gradients: [Tensor?] = [needs[0] ? dx : nil]
            if weight != nil { gradients.append(needs[1] ? (g * normalized).sum(axes: leading).reshaped(normalizedShape) : nil) }
            if bias != nil { gradients.append(needs[needs.count - 1] ? g.sum(axes: leading).reshaped(normalizedShape) : nil) }
            return gradients
        }
    }

    /// Group norm over [N, C, ...]: statistics per (sample, group of C/groups channels), affine per channel.
    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.dtype == .float32 && x.rank >= 2 && groups > 0 && x.shape[1] % groups == 0,
                     "groupNorm: float32 [N, C, …] with C divisible by groups \(groups) expected, got \(x.dtype) \(x.shape)")
        let (N, C) = (x.shape[0], x.shape[1])
        let S = x.shape.dropFirst(2).reduce(1, *)
        if let weight { precondition(weight.shape == [C], "groupNorm: weight \(weight.shape) does not match input \(x.shape)") }
        if let bias { precondition(bias.shape == [C], "groupNorm: bias \(bias.shape) does not match input \(x.shape)") }
        let out = Tensor(uninitializedShape: x.shape)
        withOptionalFloats(weight) { w in
            withOptionalFloats(bias) { b in
                x.withFloats { source in
                    guard let source = source.baseAddress else { return }
                    groupNormKernel(out: out.mutableFloatPointer, x: source, weight: w, bias: b,
                                    batch: N, channels: C, spatial: S, groups: groups, epsilon: epsilon)
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.recordingGradient("group_norm", inputs: inputs) { g, needs in
            var affineShape = [Int](repeating: 1, count: x.rank)
            affineShape[1] = C
            let grouped = [N, groups, -1]
            let (normalized, standardDeviation) = standardized(x.detached().reshaped(grouped), axes: [2], epsilon: epsilon)
            let gw = (weight.map { g * $0.detached().reshaped(affineShape) } ?? g).reshaped(grouped)
            let dx = (gw - gw.mean(axes: [2], keepingDimensions: true)
                      - normalized * (gw * normalized).mean(axes: [2], keepingDimensions: true)) / standardDeviation
            let channelAxes = (0..<x.rank).filter { $0 != 1 }
            var gradients: [Tensor?] = [needs[0] ? dx.reshaped(x.shape) : nil]
            if weight != nil { gradients.append(needs[1] ? (g * normalized.reshaped(x.shape)).sum(axes: channelAxes) : nil) }
            if bias != nil { gradients.append(needs[needs.count - 1] ? g.sum(axes: channelAxes) : nil) }
            return gradients
        }
    }

    /// ((x − mean) / std, std) over `axes`, std = √(biased var + eps) (for the backward closures).
    private static func standardized(_ x: Tensor, axes: [Int], epsilon: Float) -> (Tensor, Tensor) {
        let centered = x - x.mean(axes: axes, keepingDimensions: true)
        let standardDeviation = ((centered * centered).mean(axes: axes, keepingDimensions: true) + epsilon).sqrt()
        return (centered / standardDeviation, standardDeviation)
    }
}

/// Calls `body` with the float32 elements of `tensor`, or nil when there is no tensor.
func withOptionalFloats<Result>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> Result) -> Result {
    guard let tensor else { return body(nil) }
    return tensor.withFloats { body($0.baseAddress) }
}
