import Tensors

/// How attention rollout fuses heads and drops weak attention (jacobgil's vit-explain's options).
public struct AttentionRolloutOptions: Sendable, Equatable {
    /// How a layer's heads [heads, T, T] become one [T, T] matrix.
    public enum HeadFusion: String, Sendable, Equatable, CaseIterable {
        /// The mean over heads (the paper's).
        case mean
        /// The largest weight over heads, per entry.
        case max
        /// The smallest weight over heads, per entry.
        case min
    }

    public var headFusion: HeadFusion
    /// The fraction (0 ≤ r < 1) of each fused matrix's T² weights set to zero before the identity
    /// is added: the ⌊r·T²⌋ lowest, except the class token's attention to itself (entry [0, 0]),
    /// which is never dropped (vit-explain's rule; when it is among the lowest, one weight fewer is
    /// dropped).
    public var discardRatio: Double

    public init(headFusion: HeadFusion = .mean, discardRatio: Double = 0) {
        precondition(discardRatio >= 0 && discardRatio < 1, "AttentionRolloutOptions: discard ratio \(discardRatio) must be in [0, 1)")
        self.headFusion = headFusion
        self.discardRatio = discardRatio
    }
}

/// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): per
/// layer l, the attention probabilities A_l [heads, T, T] are fused over heads (`HeadFusion`,
/// optionally with the weakest weights discarded), the residual connection is modelled by adding
/// the identity, and each row is renormalized: Â_l = (A_l + I) / rowsum(A_l + I). The rollout is
/// the product Â_L · … · Â_1 from the first layer up; its class token's row says how much each
/// input token flows into the class token.
///
/// The normalization divides each row by its own sum, as the paper does. jacobgil's vit-explain
/// writes `a / a.sum(dim=-1)`, which broadcasts the row sums along the last axis (entry [i, j] is
/// divided by the sum of row j); that is the same only when every row has the same sum — mean
/// fusion without discarding — and differs for max/min fusion or a discard ratio.
///
/// Computed per sample over its real tokens only (padding left out entirely, so a text's map does
/// not depend on how long the batch is padded), on the float32 GEMM path.
public enum AttentionRollout {
    /// The rollout [n, n] of one sample: `layers` are its attention probabilities per layer, in
    /// call order, each [heads, T, T]; `tokens` are the indices of the tokens to roll out over
    /// (nil: all T), whose class token is the first.
    public static func rollout(_ layers: [Tensor], tokens: [Int]? = nil, options: AttentionRolloutOptions = AttentionRolloutOptions()) -> Tensor {
        precondition(!layers.isEmpty, "AttentionRollout: no layers")
        let length = layers[0].shape[2]
        let kept = tokens ?? Array(0..<length)
        let n = kept.count
        var result = Tensor(shape: [n, n], scalars: (0..<n * n).map { $0 / n == $0 % n ? 1 : 0 })
        for probabilities in layers {
            precondition(probabilities.rank == 3 && probabilities.shape[1] == length && probabilities.shape[2] == length,
                         "AttentionRollout: a layer's probabilities are \(probabilities.shape), expected [heads, \(length), \(length)]")
            var fused = fuse(probabilities.toArray(), heads: probabilities.shape[0], length: length, kept: kept,
                             fusion: options.headFusion)
            discard(&fused, ratio: options.discardRatio)
            // Â = (A + I) / row sums.
            for i in 0..<n {
                fused[i * n + i] += 1
                var sum: Float = 0
                for j in 0..<n { sum += fused[i * n + j] }
                for j in 0..<n { fused[i * n + j] /= sum }
            }
            result = Tensor.matmul(Tensor(shape: [n, n], scalars: fused), result)
        }
        return result
    }

    /// The class token's row of each sample's rollout, [N, T]: `layers` per layer [N, heads, T, T]
    /// (call order); `tokens[n]` the indices of sample n's real tokens (nil: all), where its row
    /// has its values — zero elsewhere.
    public static func classTokenRows(_ layers: [Tensor], tokens: [[Int]]? = nil,
                                      options: AttentionRolloutOptions = AttentionRolloutOptions()) -> Tensor {
        precondition(!layers.isEmpty && layers[0].rank == 4, "AttentionRollout: per-layer probabilities [N, heads, T, T] expected")
        let (batch, length) = (layers[0].shape[0], layers[0].shape[2])
        precondition(tokens.map { $0.count == batch } ?? true, "AttentionRollout: \(tokens?.count ?? 0) token lists for a batch of \(batch)")
        var rows = [Float](repeating: 0, count: batch * length)
        for sample in 0..<batch {
            let kept = tokens?[sample] ?? Array(0..<length)
            guard !kept.isEmpty else { continue }
            let rollout = rollout(layers.map { $0.selecting(axis: 0, index: sample) }, tokens: kept, options: options)
            for (column, value) in rollout.selecting(axis: 0, index: 0).toArray().enumerated() {
                rows[sample * length + kept[column]] = value
            }
        }
        return Tensor(shape: [batch, length], scalars: rows)
    }

    /// The map of class-token rows [N, T]: on `options.tokenGrid` (the prefix tokens — class and
    /// registers — left out) as [N, 1, h, w], normalized and upsampled to `inputSize` as Grad-CAM's
    /// maps are; without a grid (text) [N, T] as it is, or min-max normalized over each sample's
    /// `tokens` (the others stay 0).
    public static func map(classTokenRows rows: Tensor, tokens: [[Int]]? = nil, options: GradCAMOptions, inputSize: (Int, Int)?) -> Tensor {
        if let grid = options.tokenGrid {
            precondition(GradCAM.isSpatial([rows.shape[0], rows.shape[1], 1], grid: grid),
                         "AttentionRollout: \(rows.shape[1]) tokens do not fit the grid \(grid)")
            return GradCAM.finish(GradCAM.spatial(rows.unsqueezed(axis: 2), grid), options: options, inputSize: inputSize)
        }
        guard options.normalization == .minMax else { return rows }
        let (batch, length) = (rows.shape[0], rows.shape[1])
        var values = rows.toArray()
        for sample in 0..<batch {
            let kept = tokens?[sample] ?? Array(0..<length)
            guard let low = kept.map({ values[sample * length + $0] }).min(), let high = kept.map({ values[sample * length + $0] }).max() else { continue }
            for token in kept { values[sample * length + token] = (values[sample * length + token] - low) / (high - low + 1e-7) }
        }
        return Tensor(shape: [batch, length], scalars: values)
    }

    // MARK: - Steps

    /// Heads [heads, T, T] (row-major floats) fused into [n, n] over the kept tokens.
    static func fuse(_ values: [Float], heads: Int, length: Int, kept: [Int], fusion: AttentionRolloutOptions.HeadFusion) -> [Float] {
        let n = kept.count
        var fused = [Float](repeating: 0, count: n * n)
        for (i, row) in kept.enumerated() {
            for (j, column) in kept.enumerated() {
                var value = values[row * length + column]
                for head in 1..<max(heads, 1) {
                    let other = values[(head * length + row) * length + column]
                    switch fusion {
                    case .mean: value += other
                    case .max: value = Swift.max(value, other)
                    case .min: value = Swift.min(value, other)
                    }
                }
                fused[i * n + j] = fusion == .mean ? value / Float(heads) : value
            }
        }
        return fused
    }

    /// Sets the ⌊ratio·count⌋ lowest weights to zero, except entry 0 (the class token's to itself).
    static func discard(_ fused: inout [Float], ratio: Double) {
        let count = Int(Double(fused.count) * ratio)
        guard count > 0 else { return }
        let lowest = fused.indices.sorted { (fused[$0], $0) < (fused[$1], $1) }.prefix(count)
        for index in lowest where index != 0 { fused[index] = 0 }
    }
}
