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
//
// `attentionKernel` is the general form: every operand (and an additive mask) described by an
// `AttentionOperand` — head-major tensors [B, H, L, D] (what ONNX exports compute) are the
// layout with head stride L·D, keys may come transposed ([B, H, D, S]), and a mask broadcasts
// over heads or queries with a zero stride.

/// Attention scores of one (batch, head) pair, per thread.
private let attentionScores = ThreadLocal<ScratchBuffer>(default: { ScratchBuffer() })

/// Where one attention operand's rows are: the rows of pair p = b·H + h start at
/// `pointer + b·batchStride + h·headStride`, `rowStride` apart, elements contiguous. A zero
/// stride broadcasts (a mask shared by every head, or by every query).
public struct AttentionOperand {
    public let pointer: UnsafePointer<Float>
    public let rowStride: Int
    public let batchStride: Int
    public let headStride: Int

    public init(_ pointer: UnsafePointer<Float>, rowStride: Int, batchStride: Int, headStride: Int) {
        self.pointer = pointer
        self.rowStride = rowStride
        self.batchStride = batchStride
        self.headStride = headStride
    }

    @inline(__always) func pair(_ b: Int, _ h: Int) -> UnsafePointer<Float> { pointer + b * batchStride + h * headStride }
}

/// Fast attention, every (b, h) pair: softmax(Q·Kᵀ·scale + mask)·V into `out`.
///
/// - Parameters:
///   - keysTransposed: `key`'s rows are the D feature rows of Kᵀ (S values each) instead of S key rows.
///   - mask: additive, row l of pair (b, h) at `mask.pair(b, h) + l·mask.rowStride`, or nil.
///   - fullyMaskedRow: what a query whose logits are all −inf gets: 0 (PyTorch's attention, the
///     NaN-zeroing ONNX exports) or NaN (a plain softmax, the ONNX operator).
public func attentionKernel(out: AttentionOperand, query: AttentionOperand, key: AttentionOperand, keysTransposed: Bool,
                            value: AttentionOperand, mask: AttentionOperand?,
                            batch B: Int, heads H: Int, queryLength L: Int, keyLength S: Int,
                            headDimension D: Int, valueHeadDimension Dv: Int,
                            scale: Float, fullyMaskedRow: Float = 0, pool: ThreadPool = .current) {
    if B == 0 || H == 0 || L == 0 || Dv == 0 { return }
    // Enough pairs for every thread: one pair per thread at a time, each GEMM serial.
    let pairs = B * H
    let sideBySide = pool.threadCount > 1 && pairs >= pool.threadCount
    let inner = sideBySide ? gemmSerialPool : pool
    let run = { (pair: Int) in
        let b = pair / H, h = pair % H
        let o = UnsafeMutablePointer(mutating: out.pair(b, h))
        guard S > 0 else {
            // No keys: PyTorch's softmax over an empty row gives an empty row, and P·V is zeros.
            for l in 0..<L { (o + l * out.rowStride).update(repeating: 0, count: Dv) }
            return
        }
        let scores = attentionScores.value.floats(L * S)
        gemm(m: L, n: S, k: D, a: query.pair(b, h), lda: query.rowStride, b: key.pair(b, h), ldb: key.rowStride,
             transposeB: !keysTransposed, c: scores, ldc: S, pool: inner)
        let maskRows = mask.map { ($0.pair(b, h), $0.rowStride) }
        inner.parallelChunks(L, minimumChunk: Swift.max(1, softmaxGrain / S)) { rows in
            for l in rows {
                softmaxRow(out: scores + l * S, x: scores + l * S, count: S, scale: scale,
                           mask: maskRows.map { $0.0 + l * $0.1 }, fullyMaskedRow: fullyMaskedRow)
            }
        }
        gemm(m: L, n: Dv, k: S, a: scores, lda: S, b: value.pair(b, h), ldb: value.rowStride, c: o, ldc: out.rowStride, pool: inner)
    }
    if sideBySide {
        pool.parallelFor(pairs, run)
    } else {
        for pair in 0..<pairs { run(pair) }
    }
}

/// The naive twin of `attentionKernel`: the definition as plain loops, Double sums.
public func attentionNaive(out: AttentionOperand, query: AttentionOperand, key: AttentionOperand, keysTransposed: Bool,
                           value: AttentionOperand, mask: AttentionOperand?,
                           batch B: Int, heads H: Int, queryLength L: Int, keyLength S: Int,
                           headDimension D: Int, valueHeadDimension Dv: Int, scale: Float, fullyMaskedRow: Float = 0) {
    var logits = [Double](repeating: 0, count: S)
    for b in 0..<B {
        for h in 0..<H {
            let (q, k, v) = (query.pair(b, h), key.pair(b, h), value.pair(b, h))
            for l in 0..<L {
                var maximum = -Double.infinity
                for s in 0..<S {
                    var dot: Double = 0
                    for d in 0..<D {
                        let keyElement = keysTransposed ? k[d * key.rowStride + s] : k[s * key.rowStride + d]
                        dot += Double(q[l * query.rowStride + d]) * Double(keyElement)
                    }
                    // Float32 like the fast kernel: a huge negative bias must absorb the score the same way.
                    let logit = Float(dot) * scale + (mask.map { $0.pair(b, h)[l * $0.rowStride + s] } ?? 0)
                    logits[s] = Double(logit)
                    maximum = max(maximum, logits[s])
                }
                var total: Double = 0
                for s in 0..<S {
                    logits[s] = maximum == -.infinity ? 0 : _exp(logits[s] - maximum)
                    total += logits[s]
                }
                let o = UnsafeMutablePointer(mutating: out.pair(b, h)) + l * out.rowStride
                for d in 0..<Dv {
                    var sum: Double = 0
                    for s in 0..<S { sum += logits[s] * Double(v[s * value.rowStride + d]) }
                    o[d] = total > 0 ? Float(sum / total) : (S > 0 && maximum == -.infinity ? fullyMaskedRow : 0)
                }
            }
        }
    }
}

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
    attentionKernel(out: .projection(out, rowStride: outRowStride, length: L, headWidth: Dv),
                    query: .projection(query, rowStride: queryRowStride, length: L, headWidth: D),
                    key: .projection(key, rowStride: keyRowStride, length: S, headWidth: D), keysTransposed: false,
                    value: .projection(value, rowStride: valueRowStride, length: S, headWidth: Dv),
                    mask: keyBias.map { .keyBias($0, keyLength: S) }, batch: B, heads: H, queryLength: L, keyLength: S,
                    headDimension: D, valueHeadDimension: Dv, scale: scale, pool: pool)
}

extension AttentionOperand {
    /// The projection layout: head h of row (b, l) of a [B, length, ·] matrix at
    /// (b·length + l)·rowStride + h·headWidth.
    public static func projection(_ pointer: UnsafePointer<Float>, rowStride: Int, length: Int, headWidth: Int) -> AttentionOperand {
        AttentionOperand(pointer, rowStride: rowStride, batchStride: length * rowStride, headStride: headWidth)
    }

    /// A key bias [B, S] as a mask: one row per batch item, shared by its heads and queries.
    public static func keyBias(_ pointer: UnsafePointer<Float>, keyLength S: Int) -> AttentionOperand {
        AttentionOperand(pointer, rowStride: 0, batchStride: S, headStride: 0)
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
