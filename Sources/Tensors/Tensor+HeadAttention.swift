// Multi-head attention on projection layouts ([B, L, H·D] rows, or packed [B, L, 3·H·D]) without
// permuting heads: `multiHeadAttentionKernel`. Naive twin: `multiHeadAttentionNaive`.

extension Tensor {
    /// Self-attention from packed projections `qkv` [B, L, 3·E] (query | key | value along the
    /// last axis, E = heads·D) → [B, L, E], heads side by side as the output projection expects.
    ///
    /// `keyBias` [B, L] is added to the scores of every query (a padding mask); `scale` defaults to
    /// 1/√D. While autograd records, the composed ops run instead (same values).
    public static func multiHeadAttention(packedProjections qkv: Tensor, headCount: Int,
                                          keyBias: Tensor? = nil, scale: Float? = nil) -> Tensor {
        precondition(qkv.rank == 3 && qkv.dtype == .float32 && qkv.shape[2] % (3 * Swift.max(headCount, 1)) == 0 && headCount > 0,
                     "multiHeadAttention: packed projections [B, L, 3·E] with E divisible by \(headCount) heads expected, got \(qkv.dtype) \(qkv.shape)")
        let (B, L, E) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        if Tensor.shouldRecord(qkv) || (keyBias.map { Tensor.shouldRecord($0) } ?? false) {
            let parts = qkv.split(sizes: [E, E, E], axis: 2)
            return multiHeadAttention(query: parts[0], key: parts[1], value: parts[2], headCount: headCount, keyBias: keyBias, scale: scale)
        }
        return attend(qkv, qkv, qkv, rowStrides: (3 * E, 3 * E, 3 * E), offsets: (0, E, 2 * E),
                      batch: B, queryLength: L, keyLength: L, dimensions: (E, E), headCount: headCount, keyBias: keyBias, scale: scale)
    }

    /// Attention of `query` [B, L, E] over `key` [B, S, E] and `value` [B, S, Ev] with `headCount`
    /// heads (E and Ev divisible by it) → [B, L, Ev]. `keyBias` [B, S] is added to the scores.
    public static func multiHeadAttention(query: Tensor, key: Tensor, value: Tensor, headCount: Int,
                                          keyBias: Tensor? = nil, scale: Float? = nil) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3 && headCount > 0,
                     "multiHeadAttention: 3-D query \(query.shape), key \(key.shape) and value \(value.shape) expected")
        let (B, L, E) = (query.shape[0], query.shape[1], query.shape[2])
        let (S, Ev) = (key.shape[1], value.shape[2])
        precondition(key.shape == [B, S, E] && value.shape[0] == B && value.shape[1] == S && E % headCount == 0 && Ev % headCount == 0,
                     "multiHeadAttention: query \(query.shape), key \(key.shape) and value \(value.shape) do not match for \(headCount) heads")
        if let keyBias {
            precondition(keyBias.shape == [B, S] && keyBias.dtype == .float32,
                         "multiHeadAttention: key bias \(keyBias.shape) must be float32 [\(B), \(S)]")
        }
        if Tensor.shouldRecord([query, key, value] + (keyBias.map { [$0] } ?? [])) {
            return multiHeadAttentionWithProbabilities(query: query, key: key, value: value, headCount: headCount,
                                                       additiveMask: keyBias?.reshaped([B, 1, 1, S]), scale: scale).context
        }
        precondition(query.dtype == .float32 && key.dtype == .float32 && value.dtype == .float32,
                     "multiHeadAttention: float32 operands expected")
        return attend(query, key, value, rowStrides: (E, E, Ev), offsets: (0, 0, 0), batch: B, queryLength: L, keyLength: S,
                      dimensions: (E, Ev), headCount: headCount, keyBias: keyBias, scale: scale)
    }

    /// The unfused form of `multiHeadAttention(query:key:value:headCount:keyBias:scale:)`: heads
    /// permuted to [B, heads, ·, D], `scaledDotProductAttention`, heads put back side by side →
    /// `context` [B, L, Ev], and the attention `probabilities` [B, heads, L, S] (what attention
    /// rollout reads). `additiveMask` broadcasts to the scores [B, heads, L, S] (a padding mask
    /// [B, 1, 1, S], a causal one [1, 1, L, S]). Records when autograd does.
    public static func multiHeadAttentionWithProbabilities(query: Tensor, key: Tensor, value: Tensor, headCount: Int, additiveMask: Tensor? = nil,
                                                           scale: Float? = nil) -> (context: Tensor, probabilities: Tensor) {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3 && headCount > 0
                     && query.shape[2] % headCount == 0 && value.shape[2] % headCount == 0,
                     "multiHeadAttentionWithProbabilities: 3-D query \(query.shape), key \(key.shape) and value \(value.shape) for \(headCount) heads expected")
        let (B, L, S) = (query.shape[0], query.shape[1], key.shape[1])
        let (D, Ev) = (query.shape[2] / headCount, value.shape[2])
        let q = query.reshaped([B, L, headCount, D]).permuted([0, 2, 1, 3])
        let k = key.reshaped([B, S, headCount, D]).permuted([0, 2, 1, 3])
        let v = value.reshaped([B, S, headCount, Ev / headCount]).permuted([0, 2, 1, 3])
        let (context, probabilities) = scaledDotProductAttentionWithProbabilities(query: q, key: k, value: v, additiveMask: additiveMask, scale: scale)
        return (context.permuted([0, 2, 1, 3]).reshaped([B, L, Ev]), probabilities)
    }

    private static func attend(_ query: Tensor, _ key: Tensor, _ value: Tensor, rowStrides: (Int, Int, Int), offsets: (Int, Int, Int),
                               batch B: Int, queryLength L: Int, keyLength S: Int, dimensions: (Int, Int), headCount H: Int,
                               keyBias: Tensor?, scale: Float?) -> Tensor {
        let (D, Dv) = (dimensions.0 / H, dimensions.1 / H)
        let scale = scale ?? 1 / Float(D).squareRoot()
        let out = Tensor(uninitializedShape: [B, L, dimensions.1])
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        query.withFloats { q in
            key.withFloats { k in
                value.withFloats { v in
                    func run(_ bias: UnsafePointer<Float>?) {
                        multiHeadAttentionKernel(out: outPointer, outRowStride: dimensions.1,
                                                 query: q.baseAddress! + offsets.0, queryRowStride: rowStrides.0,
                                                 key: k.baseAddress! + offsets.1, keyRowStride: rowStrides.1,
                                                 value: v.baseAddress! + offsets.2, valueRowStride: rowStrides.2,
                                                 batch: B, heads: H, queryLength: L, keyLength: S,
                                                 headDimension: D, valueHeadDimension: Dv, scale: scale, keyBias: bias)
                    }
                    if let keyBias { keyBias.withFloats { run($0.baseAddress!) } } else { run(nil) }
                }
            }
        }
        return out
    }
}
