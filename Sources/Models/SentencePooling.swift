import Foundation
import Tensors

/// How a sequence of token embeddings becomes one sentence embedding, with the semantics of
/// sentence-transformers' `Pooling` and `Normalize` modules:
///
/// - `mean`: Σ h·m / clamp(Σ m, min: 1e-9) over the sequence, the mask m used as weights (padding
///   contributes nothing; an all-padding row gives zeros).
/// - `cls`: the first token's embedding ([CLS]).
/// - `max`: the elementwise maximum over tokens whose mask is nonzero; masked tokens count as -1e9
///   (so an all-padding row gives -1e9).
///
/// L2 normalization is `x / max(‖x‖₂, 1e-12)` (PyTorch's `F.normalize`).
public enum SentencePooling: String, Sendable, Codable, CaseIterable {
    case mean
    case cls
    case max

    /// Pools float32 hidden states [batch, sequence, hidden] with an attention mask [batch, sequence]
    /// (any dtype; nonzero marks a real token) into [batch, hidden], optionally L2-normalized.
    public func pool(_ hiddenStates: Tensor, attentionMask: Tensor, normalize: Bool = false) throws -> Tensor {
        guard hiddenStates.rank == 3, attentionMask.shape == Array(hiddenStates.shape.prefix(2)) else {
            throw PoolingError.shapeMismatch(hiddenStates: hiddenStates.shape, attentionMask: attentionMask.shape)
        }
        let batch = hiddenStates.shape[0], sequence = hiddenStates.shape[1], hidden = hiddenStates.shape[2]
        if self == .cls && sequence == 0 { throw PoolingError.emptySequence }
        let states = hiddenStates.to(.float32)
        let mask = attentionMask.toArray()
        var result = Tensor(zeros: [batch, hidden])
        result.withMutableFloats { out in
            states.withFloats { h in
                for b in 0..<batch {
                    let row = out.baseAddress! + b * hidden
                    let tokens = h.baseAddress! + b * sequence * hidden
                    switch self {
                    case .cls:
                        row.update(from: tokens, count: hidden)
                    case .mean:
                        // [S, H] weighted by the mask, summed over S.
                        var weightSum: Float = 0
                        for s in 0..<sequence {
                            let weight = mask[b * sequence + s]
                            weightSum += weight
                            if weight == 0 { continue }
                            let token = tokens + s * hidden
                            for k in 0..<hidden { row[k] += token[k] * weight }
                        }
                        let denominator = Swift.max(weightSum, 1e-9)
                        for k in 0..<hidden { row[k] /= denominator }
                    case .max:
                        row.update(repeating: -Float.infinity, count: hidden)
                        for s in 0..<sequence {
                            let token = tokens + s * hidden
                            let masked = mask[b * sequence + s] == 0
                            for k in 0..<hidden { row[k] = Swift.max(row[k], masked ? -1e9 : token[k]) }
                        }
                        if sequence == 0 { row.update(repeating: -1e9, count: hidden) }
                    }
                }
            }
        }
        return normalize ? Self.l2Normalized(result) : result
    }

    /// Each row of a float32 [batch, hidden] tensor divided by max(its L2 norm, 1e-12).
    public static func l2Normalized(_ embeddings: Tensor) -> Tensor {
        precondition(embeddings.rank == 2, "l2Normalized: expected [batch, hidden], got \(embeddings.shape)")
        let rows = embeddings.shape[0], hidden = embeddings.shape[1]
        var result = embeddings.to(.float32).detachedCopy()
        result.withMutableFloats { values in
            for r in 0..<rows {
                let row = values.baseAddress! + r * hidden
                var squares: Float = 0
                for k in 0..<hidden { squares += row[k] * row[k] }
                let norm = Swift.max(squares.squareRoot(), 1e-12)
                for k in 0..<hidden { row[k] /= norm }
            }
        }
        return result
    }
}
