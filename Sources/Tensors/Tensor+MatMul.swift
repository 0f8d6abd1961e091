// Matrix products on tensors: matmul (2-D and batched, with transposed operands) and linear.

extension Tensor {
    /// `op(a) · op(b)` over the last two axes; leading (batch) axes broadcast.
    /// `transposeA`/`transposeB` use the transpose of the last two axes without copying.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32, "matmul: float32 operands expected, got \(a.dtype) and \(b.dtype)")
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac
        let kb = transposeB ? bc : br, n = transposeB ? br : bc
        precondition(k == kb, "matmul: shapes \(a.shape) and \(b.shape) do not match (K \(k) vs \(kb); transposeA \(transposeA), transposeB \(transposeB))")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = broadcastShape(batchA, batchB)
        let batchCount = batch.reduce(1, *)
        let out = Tensor(uninitializedShape: batch + [m, n])
        let stridesA = broadcastStrides(batchA, to: batch), stridesB = broadcastStrides(batchB, to: batch)
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        a.withFloats { pa in
            b.withFloats { pb in
                for index in 0..<batchCount {
                    var rest = index, offsetA = 0, offsetB = 0
                    for axis in stride(from: batch.count - 1, through: 0, by: -1) {
                        let i = rest % batch[axis]; rest /= batch[axis]
                        offsetA += i * stridesA[axis]; offsetB += i * stridesB[axis]
                    }
                    gemm(m: m, n: n, k: k,
                         a: pa.baseAddress! + offsetA * ar * ac, lda: ac, transposeA: transposeA,
                         b: pb.baseAddress! + offsetB * br * bc, ldb: bc, transposeB: transposeB,
                         c: outPointer + index * m * n, ldc: n)
                }
            }
        }
        return out.recordingGradient("matmul", inputs: [a, b]) { g in
            let ad = a.detached(), bd = b.detached()
            // d op(A) = G · op(B)ᵀ ; d op(B) = op(A)ᵀ · G, then undo the transposes.
            let gradA = transposeA ? matmul(bd, g, transposeA: transposeB, transposeB: true)
                                   : matmul(g, bd, transposeB: !transposeB)
            let gradB = transposeB ? matmul(g, ad, transposeA: true, transposeB: transposeA)
                                   : matmul(ad, g, transposeA: !transposeA)
            return [reduceBroadcast(gradA, to: a.shape), reduceBroadcast(gradB, to: b.shape)]
        }
    }

    /// `x · weightᵀ + bias` over the last axis: x [..., in], weight [out, in], bias [out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(weight.rank == 2 && x.shape.last == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape) (last axis vs in_features)")
        let flat = x.reshaped([-1, weight.shape[1]])
        var out = matmul(flat, weight, transposeB: true)
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
            out = out + bias
        }
        return out.reshaped(Array(x.shape.dropLast()) + [weight.shape[0]])
    }
}
