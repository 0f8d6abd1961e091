import NN
import Tensors
import Testing
import TestSupport

// `AttentionRollout` on hand-made attention: head fusion, discarding, the identity and row
// normalization, the order of the product, tokens left out.

@Suite struct AttentionRolloutComputationTests {
    /// Two heads over three tokens, rows summing to 1.
    static let heads: [[Float]] = [
        [0.6, 0.3, 0.1,
         0.2, 0.5, 0.3,
         0.1, 0.1, 0.8],
        [0.2, 0.2, 0.6,
         0.7, 0.2, 0.1,
         0.3, 0.3, 0.4],
    ]
    static let layer = Tensor(shape: [2, 3, 3], scalars: heads.flatMap { $0 })

    /// (A + I) / row sums, by hand, in Double.
    static func normalized(_ fused: [Double], n: Int) -> [Double] {
        var a = fused
        for i in 0..<n {
            a[i * n + i] += 1
            let sum = (0..<n).reduce(0) { $0 + a[i * n + $1] }
            for j in 0..<n { a[i * n + j] /= sum }
        }
        return a
    }

    static func product(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        (0..<n * n).map { index in (0..<n).reduce(0) { $0 + a[index / n * n + $1] * b[$1 * n + index % n] } }
    }

    static func expectClose(_ actual: Tensor, _ expected: [Double], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let values = actual.toArray()
        #expect(values.count == expected.count, "\(label)", sourceLocation: sourceLocation)
        for (a, e) in zip(values, expected) { #expect(abs(Double(a) - e) < 1e-6, "\(label): \(values) vs \(expected)", sourceLocation: sourceLocation) }
    }

    @Test(arguments: AttentionRolloutOptions.HeadFusion.allCases)
    func oneLayerIsTheFusedAttentionPlusIdentityRowNormalized(fusion: AttentionRolloutOptions.HeadFusion) {
        let fused: [Double] = (0..<9).map { index in
            let values = Self.heads.map { Double($0[index]) }
            switch fusion {
            case .mean: return values.reduce(0, +) / 2
            case .max: return values.max()!
            case .min: return values.min()!
            }
        }
        let rollout = AttentionRollout.rollout([Self.layer], options: AttentionRolloutOptions(headFusion: fusion))
        Self.expectClose(rollout, Self.normalized(fused, n: 3), "\(fusion)")
        // Every row of the rollout sums to 1 (row-stochastic), whatever the fusion.
        for row in 0..<3 { #expect(abs(rollout.selecting(axis: 0, index: row).toArray().reduce(0, +) - 1) < 1e-6) }
    }

    /// Â_2 · Â_1, the first layer on the right (the matrices do not commute).
    @Test func layersMultiplyFromTheFirstUpwards() {
        let second = Tensor(shape: [1, 3, 3], scalars: [0.1, 0.1, 0.8, 0.5, 0.4, 0.1, 0.3, 0.6, 0.1])
        let a1 = Self.normalized(Self.heads[0].map(Double.init), n: 3)
        let a2 = Self.normalized(second.toArray().map(Double.init), n: 3)
        let rollout = AttentionRollout.rollout([Self.layer.sliced(axis: 0, 0..<1), second])
        Self.expectClose(rollout, Self.product(a2, a1, n: 3), "Â2·Â1")
        #expect(!zip(rollout.toArray(), Self.product(a1, a2, n: 3)).allSatisfy { abs(Double($0) - $1) < 1e-4 })
    }

    /// ⌊r·T²⌋ lowest fused weights are set to zero, but never [CLS, CLS]: when it is among them,
    /// one fewer is dropped (vit-explain's rule).
    @Test func discardingDropsTheLowestWeightsButNotTheClassTokensOwn() {
        // Head 0 alone: lowest 4 of 9 are 0.1 (index 2), 0.1 (6), 0.1 (7), 0.2 (3).
        let one = Self.layer.sliced(axis: 0, 0..<1)
        let kept: [Double] = [0.6, 0.3, 0, 0, 0.5, 0.3, 0, 0, 0.8]
        Self.expectClose(AttentionRollout.rollout([one], options: AttentionRolloutOptions(discardRatio: 0.5)), Self.normalized(kept, n: 3), "discard 0.5")
        // [CLS, CLS] the lowest: ⌊0.25·9⌋ = 2 lowest are indices 0 and 4; only 4 is dropped.
        let low = Tensor(shape: [1, 3, 3], scalars: [0.05, 0.5, 0.45, 0.4, 0.1, 0.5, 0.3, 0.3, 0.4])
        let expected: [Double] = [0.05, 0.5, 0.45, 0.4, 0, 0.5, 0.3, 0.3, 0.4]
        Self.expectClose(AttentionRollout.rollout([low], options: AttentionRolloutOptions(discardRatio: 0.25)), Self.normalized(expected, n: 3), "keeps [0, 0]")
    }

    /// The paper's normalization divides each row by its own sum. vit-explain's `a / a.sum(dim=-1)`
    /// divides entry [i, j] by row j's sum instead: the same when every row sums alike (mean fusion,
    /// nothing discarded), not otherwise — there its rows do not sum to 1, ours do.
    @Test func rowNormalizationDiffersFromVitExplainsBroadcastOnlyWhenRowSumsDiffer() {
        func broadcast(_ fused: [Double]) -> [Double] {
            let a = (0..<9).map { fused[$0] + ($0 / 3 == $0 % 3 ? 1 : 0) }
            let sums = (0..<3).map { row in (0..<3).reduce(0) { $0 + a[row * 3 + $1] } }
            return (0..<9).map { a[$0] / sums[$0 % 3] }
        }
        let mean = (0..<9).map { Double(Self.heads[0][$0] + Self.heads[1][$0]) / 2 }
        Self.expectClose(AttentionRollout.rollout([Self.layer]), broadcast(mean), "mean: the same")
        let maximum = (0..<9).map { Double(max(Self.heads[0][$0], Self.heads[1][$0])) }
        let ours = AttentionRollout.rollout([Self.layer], options: AttentionRolloutOptions(headFusion: .max)).toArray()
        #expect(!zip(ours, broadcast(maximum)).allSatisfy { abs(Double($0) - $1) < 1e-4 })
        #expect(abs(broadcast(maximum)[0..<3].reduce(0, +) - 1) > 1e-3)
    }

    /// Tokens left out (padding) take no part: the kept tokens' submatrices are rolled out, and the
    /// class-token row is zero at the others.
    @Test func tokensLeftOutAreNotRolledOut() {
        let batch = Tensor.concatenate([Self.layer.unsqueezed(axis: 0), Self.layer.unsqueezed(axis: 0)], axis: 0)  // [2, 2, 3, 3]
        let fused = AttentionRollout.fuseHeads(batch, .mean)
        #expect(fused.shape == [2, 3, 3])
        let rows = AttentionRollout.classTokenRows(fused: [fused, fused], tokens: [[0, 1, 2], [0, 1]])
        #expect(rows.shape == [2, 3])
        let sub = Self.layer.sliced(axis: 1, 0..<2).sliced(axis: 2, 0..<2)
        let alone = AttentionRollout.rollout([sub, sub]).selecting(axis: 0, index: 0).toArray()
        #expect(isClose(rows.selecting(axis: 0, index: 1), Tensor(shape: [3], scalars: alone + [0]), tolerance: 1e-6))
        let full = AttentionRollout.rollout([Self.layer, Self.layer]).selecting(axis: 0, index: 0)
        #expect(isClose(rows.selecting(axis: 0, index: 0), full, tolerance: 1e-6))
        // Text maps: min-max over the kept tokens only, the rest stays 0.
        let normalized = AttentionRollout.map(classTokenRows: rows, tokens: [[0, 1, 2], [0, 1]],
                                              options: GradCAMOptions(normalization: .minMax), inputSize: nil).toArray()
        #expect(normalized[5] == 0 && abs(normalized[3...4].max()! - 1) < 1e-5 && normalized[3...4].min()! == 0)
    }
}
