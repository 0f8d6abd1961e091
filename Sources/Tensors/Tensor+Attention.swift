// Scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v, PyTorch's
// `F.scaled_dot_product_attention` with an additive float mask. Naive twin:
// `Reference.scaledDotProductAttention`.

extension Tensor {
    /// Attention over [batch…, S, D] queries, [batch…, T, D] keys and [batch…, T, Dv] values
    /// (typically [batch, heads, sequence, headDim]) → [batch…, S, Dv].
    ///
    /// `additiveMask` broadcasts to the scores [batch…, S, T] (a padding mask [B, 1, 1, T] is
    /// used as is, once per head and query); `scale` defaults to 1/√D. A query whose keys are all
    /// masked with −inf gets zeros (as PyTorch). Without autograd recording the scores are
    /// scaled, masked and normalized in place in one pass; with it, the composed ops record.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor,
                                                 additiveMask: Tensor? = nil, scale: Float? = nil) -> Tensor {
        scaledDotProductAttentionWithProbabilities(query: query, key: key, value: value, additiveMask: additiveMask, scale: scale).output
    }

    /// `scaledDotProductAttention`, also returning the attention probabilities
    /// softmax(q·kᵀ·scale + mask) [batch…, S, T] it multiplies the values with (what attention
    /// rollout reads). The same computation: the probabilities are the normalized scores buffer.
    public static func scaledDotProductAttentionWithProbabilities(query: Tensor, key: Tensor, value: Tensor, additiveMask: Tensor? = nil,
                                                                  scale: Float? = nil) -> (output: Tensor, probabilities: Tensor) {
        precondition(query.rank >= 2 && key.rank == query.rank && value.rank == query.rank,
                     "scaledDotProductAttention: query \(query.shape), key \(key.shape) and value \(value.shape) need the same rank ≥ 2")
        let r = query.rank
        precondition(query.shape.dropLast(2) == key.shape.dropLast(2) && key.shape.dropLast(2) == value.shape.dropLast(2),
                     "scaledDotProductAttention: batch axes of query \(query.shape), key \(key.shape) and value \(value.shape) differ")
        precondition(query.shape[r - 1] == key.shape[r - 1],
                     "scaledDotProductAttention: query \(query.shape) and key \(key.shape) differ in the head dimension")
        precondition(key.shape[r - 2] == value.shape[r - 2],
                     "scaledDotProductAttention: key \(key.shape) and value \(value.shape) differ in sequence length")
        let scale = scale ?? 1 / Float(query.shape[r - 1]).squareRoot()
        let scoresShape = Array(query.shape.dropLast()) + [key.shape[r - 2]]
        if let additiveMask {
            precondition(additiveMask.dtype == .float32 && additiveMask.rank <= r
                         && broadcastShape(additiveMask.shape, scoresShape) == scoresShape,
                         "scaledDotProductAttention: mask \(additiveMask.shape) does not broadcast to scores \(scoresShape)")
        }
        var tensors = [query, key, value]
        if let additiveMask { tensors.append(additiveMask) }
        if Tensor.shouldRecord(tensors) {
            let probabilities = (matmul(query, key, transposeB: true) * scale).softmax(axis: -1, additiveMask: additiveMask)
            return (matmul(probabilities, value), probabilities)
        }
        // The scores tensor is fresh and ours alone: normalize it in place.
        var scores = matmul(query, key, transposeB: true)
        softmaxLastAxis(out: &scores, logits: scores, scale: scale, additiveMask: additiveMask)
        return (matmul(scores, value), scores)
    }
}
