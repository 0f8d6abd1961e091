import Foundation

// Normalization layers' math. Statistics accumulate in Double in these reference kernels.

extension Tensor {
    /// Inference batch norm over axis 1 of [N, C, ...]: (x − mean) / √(var + eps) · weight + bias.
    public static func batchNorm(_ x: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                 weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 2, "batchNorm: input \(x.shape) needs a channel axis")
        let channels = x.shape[1]
        precondition(runningMean.shape == [channels] && runningVariance.shape == [channels],
                     "batchNorm: statistics \(runningMean.shape)/\(runningVariance.shape) do not match input \(x.shape)")
        var statShape = [Int](repeating: 1, count: x.rank)
        statShape[1] = channels
        // Folded into one scale and shift per channel; composed ops, so gradients reach x, weight and bias.
        let invStd = runningVariance.map { 1 / Foundation.sqrt($0 + epsilon) }
        var scale = invStd
        if let weight { scale = scale * weight }
        var shift = -(runningMean * scale)
        if let bias { shift = shift + bias }
        return x * scale.reshaped(statShape) + shift.reshaped(statShape)
    }

    /// Layer norm over the last `normalizedCount` elements of each row (PyTorch's `normalized_shape` flattened).
    public static func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.shape.suffix(normalizedShape.count) == ArraySlice(normalizedShape),
                     "layerNorm: input \(x.shape) does not end with normalized shape \(normalizedShape)")
        let axes = Array((x.rank - normalizedShape.count)..<x.rank)
        let mean = x.mean(axes: axes, keepingDimensions: true)
        let centered = x - mean
        let variance = (centered * centered).mean(axes: axes, keepingDimensions: true)
        var out = centered / (variance + epsilon).sqrt()
        if let weight { out = out * weight }
        if let bias { out = out + bias }
        return out
    }

    /// Group norm over [N, C, ...]: statistics per (sample, group of C/groups channels).
    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] % groups == 0, "groupNorm: channels of \(x.shape) must divide by groups \(groups)")
        let (n, c) = (x.shape[0], x.shape[1])
        let grouped = x.reshaped([n, groups, -1])
        let mean = grouped.mean(axes: [2], keepingDimensions: true)
        let centered = grouped - mean
        let variance = (centered * centered).mean(axes: [2], keepingDimensions: true)
        var out = (centered / (variance + epsilon).sqrt()).reshaped(x.shape)
        var affineShape = [Int](repeating: 1, count: x.rank)
        affineShape[1] = c
        if let weight { out = out * weight.reshaped(affineShape) }
        if let bias { out = out + bias.reshaped(affineShape) }
        return out
    }
}
