// Scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v, PyTorch's
// `F.scaled_dot_product_attention` with an additive float mask. Naive twin:
// `Reference.scaledDotProductAttention`.

extension Tensor {
    /// Attention over [batch…, S, D] queries, [batch…, T, D] keys and [batch…, T, Dv] values
    /// (typically [batch, heads, sequence, headDim]) → [batch…, S, Dv].
    ///
    /// `additiveMask` broadcasts to the scores [batch…, S, T] (a padding mask [B, 1, 1, T] is
    /// used as is, once per head and query); `scale` defaults to 1/√D. A query whose keys are all
    /// masked with −inf gets zeros (as PyTorch). Without autograd recording, rank-3 and rank-4
    /// operands run as one kernel pass per (batch, head) pair (`headMajorAttention`, no scores
    /// tensor); other shapes and recording run `scaledDotProductAttentionWithProbabilities`.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor,
                                                 additiveMask: Tensor? = nil, scale: Float? = nil) -> Tensor {
        if query.rank >= 2, let output = headMajorAttention(query: query, key: key, keysTransposed: false, value: value, additiveMask: additiveMask,
                                                            scale: scale ?? 1 / Float(query.shape[query.rank - 1]).squareRoot()) {
            return output
        }
        return scaledDotProductAttentionWithProbabilities(query: query, key: key, value: value, additiveMask: additiveMask, scale: scale).output
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

extension Tensor {
    /// Attention over head-major tensors, as exported graphs compute it: `query` [N…, L, D], `key`
    /// [N…, S, D] (or, `keysTransposed`, [N…, D, S]), `value` [N…, S, Dv], with the same one or two
    /// leading axes ([B·H] or [B, H]) → softmax(q·kᵀ·scale + additiveMask)·v [N…, L, Dv], in one
    /// kernel pass per pair (`attentionKernel`): no scores tensor, no separate mask or softmax pass.
    /// `additiveMask` broadcasts to the scores [N…, L, S]; a query whose logits are all −inf gets
    /// `fullyMaskedRow` (see `attentionKernel`).
    ///
    /// Returns nil for what the kernel does not take — other ranks, leading axes that differ, a mask
    /// constant along the key axis, empty operands — and while autograd records: the caller composes the ops then.
    public static func headMajorAttention(query: Tensor, key: Tensor, keysTransposed: Bool, value: Tensor,
                                          additiveMask: Tensor?, scale: Float, fullyMaskedRow: Float = 0) -> Tensor? {
        let r = query.rank
        guard r == 3 || r == 4, key.rank == r, value.rank == r,
              [query, key, value].allSatisfy({ $0.dtype == .float32 && $0.count > 0 }),
              additiveMask.map({ $0.dtype == .float32 && $0.count > 0 }) ?? true,
              !shouldRecord([query, key, value] + (additiveMask.map { [$0] } ?? [])) else { return nil }
        let leading = Array(query.shape.dropLast(2))
        guard Array(key.shape.dropLast(2)) == leading, Array(value.shape.dropLast(2)) == leading else { return nil }
        let (L, D) = (query.shape[r - 2], query.shape[r - 1])
        let (keyRows, keyColumns) = (key.shape[r - 2], key.shape[r - 1])
        let S = keysTransposed ? keyColumns : keyRows
        guard (keysTransposed ? keyRows : keyColumns) == D, value.shape[r - 2] == S else { return nil }
        let Dv = value.shape[r - 1]
        let (B, H) = r == 4 ? (leading[0], leading[1]) : (leading[0], 1)
        let scoresShape = leading + [L, S]
        var maskStrides: [Int]?
        if let additiveMask {
            let pad = r - additiveMask.rank
            guard pad >= 0, additiveMask.shape.enumerated().allSatisfy({ $1 == 1 || $1 == scoresShape[$0 + pad] }) else { return nil }
            let strides = broadcastStrides(additiveMask.shape, to: scoresShape)
            guard S <= 1 || strides[r - 1] == 1 else { return nil }
            maskStrides = strides
        }
        let out = Tensor(uninitializedShape: leading + [L, Dv])
        let outPointer = out.mutableFloatPointer
        /// Contiguous [N…, rows, columns]: pair (b, h) at (b·H + h)·rows·columns.
        func operand(_ pointer: UnsafePointer<Float>, rows: Int, columns: Int) -> AttentionOperand {
            AttentionOperand(pointer, rowStride: columns, batchStride: H * rows * columns, headStride: rows * columns)
        }
        query.withFloats { q in
            key.withFloats { k in
                value.withFloats { v in
                    func run(_ mask: AttentionOperand?) {
                        attentionKernel(out: operand(outPointer, rows: L, columns: Dv), query: operand(q.baseAddress!, rows: L, columns: D),
                                        key: operand(k.baseAddress!, rows: keyRows, columns: keyColumns), keysTransposed: keysTransposed,
                                        value: operand(v.baseAddress!, rows: S, columns: Dv), mask: mask,
                                        batch: B, heads: H, queryLength: L, keyLength: S, headDimension: D, valueHeadDimension: Dv,
                                        scale: scale, fullyMaskedRow: fullyMaskedRow)
                    }
                    guard let additiveMask, let strides = maskStrides else { return run(nil) }
                    additiveMask.withFloats { m in
                        run(AttentionOperand(m.baseAddress!, rowStride: strides[r - 2], batchStride: strides[0],
                                             headStride: r == 4 ? strides[1] : 0))
                    }
                }
            }
        }
        return out
    }
}
