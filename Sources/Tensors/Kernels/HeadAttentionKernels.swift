// Multi-head attention read straight from the projection layout, with no head permutes.
//
// Shape letters: B batch, H heads, L query length, S key length, D head dimension (Dv for values).
// A projection is a [B, L, ·] matrix whose row (b, l) holds every head side by side: head h of the
// query row starts at query + (b·L + l)·queryRowStride + h·D. Packed self-attention projections
// [B, L, 3·H·D] (q | k | v) are three such views of one buffer with row stride 3·H·D; separate
// projections [B, L, H·D] have row stride H·D. The output [B, L, H·Dv] is written the same way,
// which is exactly the layout the output projection reads: transposes to [B, H, L, D] and back
// (two full copies per layer in the textbook formulation) never happen.
//
// Per (b, h): scores[L, S] = Q·Kᵀ (one GEMM reading Q and K with their row strides),
// softmax_row(scores·scale + keyBias[b]) in place, out = P·V (one GEMM writing with the output's
// row stride). The (b, h) pairs run side by side on the pool's threads.

/// Attention scores of one (batch, head) pair, per thread.
private let attentionScores = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })

/// Fast multi-head attention over strided projections (see the file comment for the layout).
///
/// - Parameters:
///   - keyBias: [B, S] added to every query's scores of batch item b (e.g. a padding mask of
///     0 / large negative values), or nil.
///   - scale: multiplies the scores before the bias (usually 1/√D).
public func multiHeadAttentionKernel(out: UnsafeMutablePointer<Float>, outRowStride: Int,
                                     query: UnsafePointer<Float>, queryRowStride: Int,
                                     key: UnsafePointer<Float>, keyRowStride: Int,
                                     value: UnsafePointer<Float>, valueRowStride: Int,
                                     batch B: Int, heads H: Int, queryLength L: Int, keyLength S: Int,
                                     headDimension D: Int, valueHeadDimension Dv: Int,
                                     scale: Float, keyBias: UnsafePointer<Float>?, pool: ThreadPool = .current) {
    if B == 0 || H == 0 || L == 0 || Dv == 0 { return }
    // Enough pairs for every thread: one pair per thread at a time, each GEMM serial.
    let pairs = B * H
    let sideBySide = pool.threadCount > 1 && pairs >= pool.threadCount
    let inner = sideBySide ? gemmSerialPool : pool
    let run = { (pair: Int) in
        let b = pair / H, h = pair % H
        let q = query + b * L * queryRowStride + h * D
        let k = key + b * S * keyRowStride + h * D
        let v = value + b * S * valueRowStride + h * Dv
        let o = out + b * L * outRowStride + h * Dv
        guard S > 0 else {
            // No keys: PyTorch's softmax over an empty row gives an empty row, and P·V is zeros.
            for l in 0..<L { (o + l * outRowStride).update(repeating: 0, count: Dv) }
            return
        }
        let scores = attentionScores.value.floats(L * S)
        gemm(m: L, n: S, k: D, a: q, lda: queryRowStride, b: k, ldb: keyRowStride, transposeB: true,
             c: scores, ldc: S, pool: inner)
        softmaxRowsKernel(out: scores, x: scores, rows: L, columns: S, scale: scale,
                          mask: keyBias.map { $0 + b * S }, maskOffsets: nil, pool: inner)
        gemm(m: L, n: Dv, k: S, a: scores, lda: S, b: v, ldb: valueRowStride, c: o, ldc: outRowStride, pool: inner)
    }
    if sideBySide {
        pool.parallelFor(pairs, run)
    } else {
        for pair in 0..<pairs { run(pair) }
    }
}

/// The naive twin of `multiHeadAttentionKernel`: the definition as plain loops, Double sums.
public func multiHeadAttentionNaive(out: UnsafeMutablePointer<Float>, outRowStride: Int,
                                    query: UnsafePointer<Float>, queryRowStride: Int,
                                    key: UnsafePointer<Float>, keyRowStride: Int,
                                    value: UnsafePointer<Float>, valueRowStride: Int,
                                    batch B: Int, heads H: Int, queryLength L: Int, keyLength S: Int,
                                    headDimension D: Int, valueHeadDimension Dv: Int,
                                    scale: Float, keyBias: UnsafePointer<Float>?) {
    var logits = [Double](repeating: 0, count: S)
    for b in 0..<B {
        for h in 0..<H {
            for l in 0..<L {
                let q = query + (b * L + l) * queryRowStride + h * D
                var maximum = -Double.infinity
                for s in 0..<S {
                    let k = key + (b * S + s) * keyRowStride + h * D
                    var dot: Double = 0
                    for d in 0..<D { dot += Double(q[d]) * Double(k[d]) }
                    // Float32 like the fast kernel: a huge negative bias must absorb the score the same way.
                    let logit = Float(dot) * scale + (keyBias?[b * S + s] ?? 0)
                    logits[s] = Double(logit)
                    maximum = max(maximum, logits[s])
                }
                var total: Double = 0
                for s in 0..<S {
                    logits[s] = maximum == -.infinity ? 0 : _exp(logits[s] - maximum)
                    total += logits[s]
                }
                let o = out + (b * L + l) * outRowStride + h * Dv
                for d in 0..<Dv {
                    var sum: Double = 0
                    for s in 0..<S { sum += logits[s] * Double(value[(b * S + s) * valueRowStride + h * Dv + d]) }
                    o[d] = total > 0 ? Float(sum / total) : 0
                }
            }
        }
    }
}

/// e^x without Foundation (this file must not depend on it).
@inline(__always) private func _exp(_ x: Double) -> Double {
#if canImport(Glibc)
    Glibc.exp(x)
#else
    Darwin.exp(x)
#endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
