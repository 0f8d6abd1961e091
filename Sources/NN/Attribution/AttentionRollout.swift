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
/// not depend on how long the batch is padded), on the float32 GEMM path. The heads are fused as
/// each layer reports (`fuseHeads`), so a model's rollout holds one [N, T, T] matrix per layer.
public enum AttentionRollout {
    /// Heads fused: [..., heads, T, T] → [..., T, T] (the mean, or the largest or smallest weight per
    /// entry). Without recording.
    public static func fuseHeads(_ probabilities: Tensor, _ fusion: AttentionRolloutOptions.HeadFusion) -> Tensor {
        precondition(probabilities.rank >= 3, "AttentionRollout: probabilities [..., heads, T, T] expected, got \(probabilities.shape)")
        let axis = probabilities.rank - 3
        return GradMode.withDisabled {
            switch fusion {
            case .mean: probabilities.to(.float32).mean(axes: [axis])
            case .max: probabilities.to(.float32).max(axes: [axis])
            case .min: -((-probabilities.to(.float32)).max(axes: [axis]))
            }
        }
    }

    /// The rollout [n, n] of one sample from its attention probabilities per layer, in call order,
    /// each [heads, T, T]: `fuseHeads`, then `rollout(fused:tokens:discardRatio:)`.
    public static func rollout(_ layers: [Tensor], tokens: [Int]? = nil, options: AttentionRolloutOptions = AttentionRolloutOptions()) -> Tensor {
        rollout(fused: layers.map { fuseHeads($0, options.headFusion) }, tokens: tokens, discardRatio: options.discardRatio)
    }

    /// The rollout [n, n] of one sample from its head-fused attention per layer, in call order, each
    /// [T, T]: over the tokens `tokens` (their indices, the class token first; nil: all T) only,
    /// each layer's weakest weights discarded, the identity added, rows normalized, and the layers
    /// multiplied from the first up.
    public static func rollout(fused layers: [Tensor], tokens: [Int]? = nil, discardRatio: Double = 0) -> Tensor {
        precondition(!layers.isEmpty, "AttentionRollout: no layers")
        let length = layers[0].shape[1]
        let kept = tokens ?? Array(0..<length)
        let n = kept.count
        var result = Tensor(shape: [n, n], scalars: (0..<n * n).map { $0 / n == $0 % n ? 1 : 0 })
        for attention in layers {
            precondition(attention.shape == [length, length], "AttentionRollout: a layer's fused attention is \(attention.shape), expected [\(length), \(length)]")
            let values = attention.toArray()
            var a = [Float](repeating: 0, count: n * n)
            for (i, row) in kept.enumerated() {
                for (j, column) in kept.enumerated() { a[i * n + j] = values[row * length + column] }
            }
            discard(&a, ratio: discardRatio)
            // Â = (A + I) / row sums.
            for i in 0..<n {
                a[i * n + i] += 1
                var sum: Float = 0
                for j in 0..<n { sum += a[i * n + j] }
                for j in 0..<n { a[i * n + j] /= sum }
            }
            result = Tensor.matmul(Tensor(shape: [n, n], scalars: a), result)
        }
        return result
    }

    /// The class token's row of each sample's rollout, [N, T]: `layers` are the head-fused
    /// attention per layer (call order), each [N, T, T]; `tokens[n]` the indices of sample n's real
    /// tokens (nil: all), where its row has its values — zero elsewhere.
    public static func classTokenRows(fused layers: [Tensor], tokens: [[Int]]? = nil, discardRatio: Double = 0) -> Tensor {
        precondition(!layers.isEmpty && layers[0].rank == 3, "AttentionRollout: per-layer fused attention [N, T, T] expected")
        let (batch, length) = (layers[0].shape[0], layers[0].shape[1])
        precondition(tokens.map { $0.count == batch } ?? true, "AttentionRollout: \(tokens?.count ?? 0) token lists for a batch of \(batch)")
        var rows = [Float](repeating: 0, count: batch * length)
        for sample in 0..<batch {
            let kept = tokens?[sample] ?? Array(0..<length)
            guard !kept.isEmpty else { continue }
            let rollout = rollout(fused: layers.map { $0.selecting(axis: 0, index: sample) }, tokens: kept, discardRatio: discardRatio)
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

    /// Sets the ⌊ratio·count⌋ lowest weights to zero, except entry 0 (the class token's to itself).
    static func discard(_ fused: inout [Float], ratio: Double) {
        let count = Int(Double(fused.count) * ratio)
        guard count > 0 else { return }
        let lowest = fused.indices.sorted { (fused[$0], $0) < (fused[$1], $1) }.prefix(count)
        for index in lowest where index != 0 { fused[index] = 0 }
    }
}
