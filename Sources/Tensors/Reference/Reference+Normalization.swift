import Foundation

// Normalization layers, straight from their definitions with two-pass Double statistics.

extension Reference {
    /// Inference batch norm over axis 1 of [N, C, …]: (x − mean_c) / √(var_c + eps) · w_c + b_c.
    public static func batchNorm(_ x: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                 weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        let channels = x.shape[1], spatial = x.shape.dropFirst(2).reduce(1, *)
        let mean = runningMean.toArray(), variance = runningVariance.toArray()
        let w = weight?.toArray() ?? [Float](repeating: 1, count: channels)
        let b = bias?.toArray() ?? [Float](repeating: 0, count: channels)
        var values = x.toArray()
        for i in values.indices {
            let c = (i / spatial) % channels
            let normalized = (Double(values[i]) - Double(mean[c])) / (Double(variance[c]) + Double(epsilon)).squareRoot()
            values[i] = Float(normalized * Double(w[c]) + Double(b[c]))
        }
        return Tensor(shape: x.shape, scalars: values)
    }

    /// (x − mean) / √(var + eps) · w + b over each run of `n` elements.
    static func normalizeRuns(_ values: inout [Float], runLength n: Int, epsilon: Float,
                              affine: (_ run: Int, _ position: Int, _ value: Double) -> Double) {
        for run in 0..<(n == 0 ? 0 : values.count / n) {
            let slice = (run * n)..<((run + 1) * n)
            let mean = slice.reduce(0.0) { $0 + Double(values[$1]) } / Double(n)
            let variance = slice.reduce(0.0) { $0 + (Double(values[$1]) - mean) * (Double(values[$1]) - mean) } / Double(n)
            let inverse = 1 / (variance + Double(epsilon)).squareRoot()
            for i in slice { values[i] = Float(affine(run, i - slice.lowerBound, (Double(values[i]) - mean) * inverse)) }
        }
    }

    /// Layer norm over the trailing `normalizedShape` (biased variance, as PyTorch).
    public static func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        let n = normalizedShape.reduce(1, *)
        let w = weight?.toArray(), b = bias?.toArray()
        var values = x.toArray()
        normalizeRuns(&values, runLength: n, epsilon: epsilon) { _, j, v in
            v * Double(w?[j] ?? 1) + Double(b?[j] ?? 0)
        }
        return Tensor(shape: x.shape, scalars: values)
    }

    /// Group norm over [N, C, …]: statistics per (sample, group), affine per channel.
    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        let channels = x.shape[1], spatial = x.shape.dropFirst(2).reduce(1, *)
        let perGroup = channels / groups
        let w = weight?.toArray(), b = bias?.toArray()
        var values = x.toArray()
        normalizeRuns(&values, runLength: perGroup * spatial, epsilon: epsilon) { run, j, v in
            let c = (run % groups) * perGroup + j / spatial
            return v * Double(w?[c] ?? 1) + Double(b?[c] ?? 0)
        }
        return Tensor(shape: x.shape, scalars: values)
    }
}
