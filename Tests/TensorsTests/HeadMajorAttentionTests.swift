import Testing
import Tensors
import TestSupport

/// Attention over head-major tensors (what exported graphs compute, fused by the ONNX plan): the
/// general kernel against its naive twin, and the tensor API against the composed ops it replaces.
@Suite struct HeadMajorAttentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        /// Leading axes: [B, H] or [N].
        let leading: [Int]
        let queries: Int, keys: Int, headDimension: Int, valueHeadDimension: Int
        let keysTransposed: Bool
        /// The mask's shape (broadcast to the scores), or nil.
        let mask: [Int]?
        var testDescription: String {
            "\(leading) L \(queries) S \(keys) D \(headDimension) Dv \(valueHeadDimension)\(keysTransposed ? " Kᵀ" : "") mask \(mask.map { "\($0)" } ?? "none")"
        }
    }

    static let cases: [Case] = [
        // A BERT export: [B, H, L, D] queries, transposed keys, a padding mask broadcast over heads and queries.
        Case(leading: [2, 3], queries: 9, keys: 9, headDimension: 8, valueHeadDimension: 8, keysTransposed: true, mask: [2, 1, 1, 9]),
        // The mask expanded over queries ([B, 1, L, S]), as transformers' SDPA exports it.
        Case(leading: [2, 4], queries: 17, keys: 17, headDimension: 16, valueHeadDimension: 16, keysTransposed: true, mask: [2, 1, 17, 17]),
        // No mask (ViT, DINOv2); keys as rows; several row blocks of the GEMM.
        Case(leading: [1, 12], queries: 33, keys: 33, headDimension: 32, valueHeadDimension: 32, keysTransposed: false, mask: nil),
        // Cross attention, a per-head causal-like mask [1, H, L, S], rank 3 leading axes.
        Case(leading: [6], queries: 5, keys: 11, headDimension: 4, valueHeadDimension: 3, keysTransposed: true, mask: [6, 5, 11]),
        Case(leading: [1, 1], queries: 1, keys: 1, headDimension: 1, valueHeadDimension: 1, keysTransposed: false, mask: [1]),
        // A 2-D mask [L, S] shared by every pair.
        Case(leading: [3, 2], queries: 7, keys: 6, headDimension: 5, valueHeadDimension: 9, keysTransposed: true, mask: [7, 6]),
    ]

    /// Every third mask element −inf, the rest small values; the first query row of pair 0 fully masked.
    static func mask(_ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *), columns = shape.last ?? 1
        return Tensor(shape: shape, scalars: (0..<count).map { i in
            i < columns && count > columns ? -Float.infinity : (i % 3 == 2 ? -Float.infinity : Float(i % 5) * 0.1)
        })
    }

    func operands(_ c: Case) -> (query: Tensor, key: Tensor, value: Tensor, mask: Tensor?) {
        let query = random(c.leading + [c.queries, c.headDimension], seed: 51)
        let key = random(c.leading + (c.keysTransposed ? [c.headDimension, c.keys] : [c.keys, c.headDimension]), seed: 52)
        let value = random(c.leading + [c.keys, c.valueHeadDimension], seed: 53)
        return (query, key, value, c.mask.map(Self.mask))
    }

    @Test(arguments: cases, [1, 2])
    func tensorAPIMatchesNaiveTwin(_ c: Case, threads: Int) throws {
        let (query, key, value, mask) = operands(c)
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        for fullyMaskedRow in [Float(0), .nan] {
            let fast = try #require(ThreadPool.withCurrent(pool) {
                Tensor.headMajorAttention(query: query, key: key, keysTransposed: c.keysTransposed, value: value,
                                          additiveMask: mask, scale: 0.37, fullyMaskedRow: fullyMaskedRow)
            })
            let naive = naiveAttention(c, query, key, value, mask, fullyMaskedRow: fullyMaskedRow)
            #expect(fast.shape == c.leading + [c.queries, c.valueHeadDimension])
            let (f, n) = (fast.toArray(), naive.toArray())
            #expect(zip(f, n).allSatisfy { $0.isNaN == $1.isNaN }, "NaN rows differ")
            let finite = zip(f, n).filter { !$1.isNaN }
            #expect(finite.allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "max difference \(finite.map { abs($0 - $1) }.max() ?? 0)")
            if c.mask != nil && c.queries * c.keys > 1 {
                // The test mask fully masks query 0 of pair 0.
                #expect(f.prefix(c.valueHeadDimension).allSatisfy { fullyMaskedRow.isNaN ? $0.isNaN : $0 == 0 })
            }
        }
    }

    /// Without fully masked rows it equals matmul · scale + mask → softmax → matmul.
    @Test func tensorAPIMatchesComposedOps() throws {
        let c = Self.cases[0]
        let (query, key, value, _) = operands(c)
        let mask = Tensor(shape: [2, 1, 1, 9], scalars: (0..<18).map { $0 % 4 == 3 ? -1e9 : 0 })
        let fused = try #require(Tensor.headMajorAttention(query: query, key: key, keysTransposed: true, value: value,
                                                           additiveMask: mask, scale: 0.5))
        let composed = Tensor.matmul((Tensor.matmul(query, key) * 0.5 + mask).softmax(axis: -1), value)
        expectClose(fused, composed, tolerance: 1e-5)
    }

    /// What the kernel does not take comes back nil, for the caller to compose the ops.
    @Test func unsupportedLayoutsReturnNil() {
        let q = random([2, 3, 4], seed: 61), k = random([2, 3, 4], seed: 62), v = random([2, 3, 4], seed: 63)
        #expect(Tensor.headMajorAttention(query: q, key: random([1, 3, 4], seed: 64), keysTransposed: false, value: v,
                                          additiveMask: nil, scale: 1) == nil)   // leading axes differ (broadcast)
        #expect(Tensor.headMajorAttention(query: q.reshaped([1, 1, 2, 3, 4]), key: k.reshaped([1, 1, 2, 3, 4]), keysTransposed: false,
                                          value: v.reshaped([1, 1, 2, 3, 4]), additiveMask: nil, scale: 1) == nil)   // rank 5
        #expect(Tensor.headMajorAttention(query: q, key: k, keysTransposed: false, value: v,
                                          additiveMask: random([2, 3, 1], seed: 65), scale: 1) == nil)   // constant along keys
        #expect(Tensor.headMajorAttention(query: q, key: k, keysTransposed: false, value: v,
                                          additiveMask: random([5], seed: 66), scale: 1) == nil)   // does not broadcast
        #expect(Tensor.headMajorAttention(query: q, key: k, keysTransposed: false, value: v, additiveMask: nil, scale: 1) != nil)
    }

    /// `attentionNaive` over the same contiguous head-major operands.
    func naiveAttention(_ c: Case, _ query: Tensor, _ key: Tensor, _ value: Tensor, _ mask: Tensor?, fullyMaskedRow: Float) -> Tensor {
        let (b, h) = c.leading.count == 2 ? (c.leading[0], c.leading[1]) : (c.leading[0], 1)
        let (l, s, d, dv) = (c.queries, c.keys, c.headDimension, c.valueHeadDimension)
        let scores = c.leading + [l, s]
        // The mask expanded to the full scores shape, so the naive twin reads it with plain strides.
        let fullMask = mask.map { $0 + Tensor(zeros: scores) }
        var out = Tensor(zeros: c.leading + [l, dv])
        func operand(_ p: UnsafePointer<Float>, rows: Int, columns: Int) -> AttentionOperand {
            AttentionOperand(p, rowStride: columns, batchStride: h * rows * columns, headStride: rows * columns)
        }
        query.withFloats { q in
            key.withFloats { k in
                value.withFloats { v in
                    out.withMutableFloats { o in
                        func run(_ m: AttentionOperand?) {
                            attentionNaive(out: operand(o.baseAddress!, rows: l, columns: dv), query: operand(q.baseAddress!, rows: l, columns: d),
                                           key: c.keysTransposed ? operand(k.baseAddress!, rows: d, columns: s) : operand(k.baseAddress!, rows: s, columns: d),
                                           keysTransposed: c.keysTransposed, value: operand(v.baseAddress!, rows: s, columns: dv), mask: m,
                                           batch: b, heads: h, queryLength: l, keyLength: s, headDimension: d, valueHeadDimension: dv,
                                           scale: 0.37, fullyMaskedRow: fullyMaskedRow)
                        }
                        if let fullMask { fullMask.withFloats { run(operand($0.baseAddress!, rows: l, columns: s)) } } else { run(nil) }
                    }
                }
            }
        }
        return out
    }
}
