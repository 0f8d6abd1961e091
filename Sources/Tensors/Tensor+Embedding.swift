extension Tensor {
    /// Rows of `weight` [V, D] gathered by integer `indices` (any shape) → [indices..., D].
    public static func embedding(_ indices: Tensor, weight: Tensor) -> Tensor {
        precondition(weight.rank == 2 && weight.dtype == .float32, "embedding: float32 weight [V, D] expected, got \(weight.dtype) \(weight.shape)")
        let ids = indices.toInt64Array()
        let (vocabulary, dimension) = (weight.shape[0], weight.shape[1])
        for id in ids {
            precondition(id >= 0 && id < vocabulary, "embedding: index \(id) out of range for \(vocabulary) rows")
        }
        var out = Tensor(uninitializedShape: indices.shape + [dimension])
        out.withMutableFloats { o in
            weight.withFloats { w in
                for (i, id) in ids.enumerated() {
                    (o.baseAddress! + i * dimension).update(from: w.baseAddress! + Int(id) * dimension, count: dimension)
                }
            }
        }
        return out.recordingGradient("embedding", inputs: [weight]) { g in
            var grad = Tensor(zeros: [vocabulary, dimension])
            grad.withMutableFloats { d in
                g.withFloats { gg in
                    for (i, id) in ids.enumerated() {
                        for j in 0..<dimension { d[Int(id) * dimension + j] += gg[i * dimension + j] }
                    }
                }
            }
            return [grad]
        }
    }
}
