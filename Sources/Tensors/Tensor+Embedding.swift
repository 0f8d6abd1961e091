// Embedding lookup through `embeddingGatherKernel`; naive twin `Reference.embedding`.

extension Tensor {
    /// Rows of `weight` [V, D] gathered by integer `indices` (any shape; float indices truncate) → [indices..., D].
    public static func embedding(_ indices: Tensor, weight: Tensor) -> Tensor {
        precondition(weight.rank == 2 && weight.dtype == .float32,
                     "embedding: float32 weight [V, D] expected, got \(weight.dtype) \(weight.shape) (indices \(indices.shape))")
        let ids = indices.to(.int64)
        let (vocabulary, dimension) = (weight.shape[0], weight.shape[1])
        ids.withUnsafeBufferPointer(as: Int64.self) { ids in
            for id in ids {
                precondition(id >= 0 && id < vocabulary,
                             "embedding: index \(id) in indices \(indices.shape) out of range for weight \(weight.shape)")
            }
        }
        let out = Tensor(uninitializedShape: indices.shape + [dimension])
        ids.withUnsafeBufferPointer(as: Int64.self) { i in
            weight.withFloats { w in
                embeddingGatherKernel(out: out.mutableFloatPointer, table: w.baseAddress!, indices: i.baseAddress!,
                                      count: ids.count, dimension: dimension)
            }
        }
        return out.recordingGradient("embedding", inputs: [weight]) { g in
            var grad = Tensor(zeros: [vocabulary, dimension])
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    ids.withUnsafeBufferPointer(as: Int64.self) { ids in
                        for (i, id) in ids.enumerated() {
                            for j in 0..<dimension { d[Int(id) * dimension + j] += gg[i * dimension + j] }
                        }
                    }
                }
            }
            return [grad]
        }
    }
}
