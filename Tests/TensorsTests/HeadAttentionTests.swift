import Testing
import Tensors
import TestSupport

/// Multi-head attention read straight from projection layouts (no head permutes) against its
/// naive twin and against the composed ops (permute + scaledDotProductAttention).
@Suite struct HeadAttentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batch: Int, heads: Int, queries: Int, keys: Int, headDimension: Int, valueHeadDimension: Int
        let packed: Bool, keyBias: Bool
        var testDescription: String {
            "B \(batch) H \(heads) L \(queries) S \(keys) D \(headDimension) Dv \(valueHeadDimension)\(packed ? " packed" : "")\(keyBias ? " bias" : "")"
        }
    }

    static let cases: [Case] = [
        Case(batch: 1, heads: 1, queries: 1, keys: 1, headDimension: 1, valueHeadDimension: 1, packed: false, keyBias: false),
        Case(batch: 2, heads: 4, queries: 16, keys: 16, headDimension: 8, valueHeadDimension: 8, packed: true, keyBias: true),   // BERT
        Case(batch: 1, heads: 12, queries: 33, keys: 33, headDimension: 32, valueHeadDimension: 32, packed: true, keyBias: false),
        Case(batch: 3, heads: 2, queries: 5, keys: 9, headDimension: 4, valueHeadDimension: 3, packed: false, keyBias: true),   // cross
        Case(batch: 1, heads: 3, queries: 7, keys: 7, headDimension: 5, valueHeadDimension: 5, packed: true, keyBias: true),
    ]

    /// (1 − mask)·min_float with every third key masked: Hugging Face's extended mask.
    static func keyBias(batch: Int, keys: Int) -> Tensor {
        Tensor(shape: [batch, keys], scalars: (0..<(batch * keys)).map { $0 % 3 == 2 ? -Float.greatestFiniteMagnitude : 0 })
    }

    @Test(arguments: cases, [1, 2])
    func kernelMatchesNaiveTwin(_ c: Case, threads: Int) {
        let (e, ev) = (c.heads * c.headDimension, c.heads * c.valueHeadDimension)
        // Packed: one [B, L, 2E + Ev] buffer (L = S); separate: three tensors.
        let width = c.packed ? 2 * e + ev : 0
        let packed = random([c.batch, c.queries, max(width, 1)], seed: 11)
        let query = c.packed ? packed : random([c.batch, c.queries, e], seed: 12)
        let key = c.packed ? packed : random([c.batch, c.keys, e], seed: 13)
        let value = c.packed ? packed : random([c.batch, c.keys, ev], seed: 14)
        let strides = c.packed ? (width, width, width) : (e, e, ev)
        let offsets = c.packed ? (0, e, 2 * e) : (0, 0, 0)
        let bias: Tensor? = c.keyBias ? Self.keyBias(batch: c.batch, keys: c.keys) : nil
        var fast = Tensor(zeros: [c.batch, c.queries, ev]), naive = Tensor(zeros: [c.batch, c.queries, ev])
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        let scale: Float = 0.37
        query.withFloats { q in
            key.withFloats { k in
                value.withFloats { v in
                    func run(_ b: UnsafePointer<Float>?) {
                        fast.withMutableFloats { out in
                            multiHeadAttentionKernel(out: out.baseAddress!, outRowStride: ev, query: q.baseAddress! + offsets.0, queryRowStride: strides.0,
                                                     key: k.baseAddress! + offsets.1, keyRowStride: strides.1,
                                                     value: v.baseAddress! + offsets.2, valueRowStride: strides.2,
                                                     batch: c.batch, heads: c.heads, queryLength: c.queries, keyLength: c.keys,
                                                     headDimension: c.headDimension, valueHeadDimension: c.valueHeadDimension,
                                                     scale: scale, keyBias: b, pool: pool)
                        }
                        naive.withMutableFloats { out in
                            let (d, dv) = (c.headDimension, c.valueHeadDimension)
                            attentionNaive(out: .projection(out.baseAddress!, rowStride: ev, length: c.queries, headWidth: dv),
                                           query: .projection(q.baseAddress! + offsets.0, rowStride: strides.0, length: c.queries, headWidth: d),
                                           key: .projection(k.baseAddress! + offsets.1, rowStride: strides.1, length: c.keys, headWidth: d),
                                           keysTransposed: false,
                                           value: .projection(v.baseAddress! + offsets.2, rowStride: strides.2, length: c.keys, headWidth: dv),
                                           mask: b.map { .keyBias($0, keyLength: c.keys) }, batch: c.batch, heads: c.heads,
                                           queryLength: c.queries, keyLength: c.keys, headDimension: d, valueHeadDimension: dv, scale: scale)
                        }
                    }
                    if let bias { bias.withFloats { run($0.baseAddress!) } } else { run(nil) }
                }
            }
        }
        expectClose(fast, naive, tolerance: 1e-5)
    }

    /// The tensor API equals permute + scaled dot-product attention + permute back, and the packed
    /// form equals the separate one.
    @Test func tensorAPIMatchesComposedAttention() {
        let (batch, length, heads, d) = (2, 9, 3, 4)
        let e = heads * d
        let qkv = random([batch, length, 3 * e], seed: 21)
        let parts = qkv.split(sizes: [e, e, e], axis: 2)
        let bias = Self.keyBias(batch: batch, keys: length)
        func split(_ x: Tensor) -> Tensor { x.reshaped([batch, length, heads, d]).permuted([0, 2, 1, 3]) }
        let composed = Tensor.scaledDotProductAttention(query: split(parts[0]), key: split(parts[1]), value: split(parts[2]),
                                                        additiveMask: bias.reshaped([batch, 1, 1, length]))
            .permuted([0, 2, 1, 3]).reshaped([batch, length, e])
        expectClose(Tensor.multiHeadAttention(packedProjections: qkv, headCount: heads, keyBias: bias), composed)
        expectClose(Tensor.multiHeadAttention(query: parts[0], key: parts[1], value: parts[2], headCount: heads, keyBias: bias), composed)
    }

    /// While autograd records, the composed ops run: same values, and gradients flow.
    @Test func recordingPathGivesTheSameValues() {
        let q = leaf(random([1, 4, 6], seed: 31)), k = leaf(random([1, 5, 6], seed: 32)), v = leaf(random([1, 5, 6], seed: 33))
        let recorded = Tensor.multiHeadAttention(query: q, key: k, value: v, headCount: 2)
        #expect(recorded.gradientNode != nil)
        let plain = GradMode.withDisabled { Tensor.multiHeadAttention(query: q, key: k, value: v, headCount: 2) }
        #expect(plain.gradientNode == nil)
        expectClose(recorded, plain, tolerance: 1e-6)
        let grads = gradients(of: recorded, seed: Tensor(shape: [1, 4, 6], repeating: 1), withRespectTo: [q, k, v])
        #expect(grads.allSatisfy { $0 != nil })
    }

    /// A query whose keys are all masked with min_float (Hugging Face) averages the values; with
    /// −inf it gets zeros (PyTorch's SDPA returns NaN there; the kernels return zeros).
    @Test func fullyMaskedRows() {
        let q = random([1, 2, 2], seed: 41), k = random([1, 3, 2], seed: 42), v = random([1, 3, 2], seed: 43)
        let minimum = Tensor(shape: [1, 3], scalars: [Float](repeating: -.greatestFiniteMagnitude, count: 3))
        let averaged = Tensor.multiHeadAttention(query: q, key: k, value: v, headCount: 1, keyBias: minimum).toArray()
        let values = v.toArray()
        let mean = [(values[0] + values[2] + values[4]) / 3, (values[1] + values[3] + values[5]) / 3]
        #expect(abs(averaged[0] - mean[0]) < 1e-6 && abs(averaged[1] - mean[1]) < 1e-6)
        let infinite = Tensor(shape: [1, 3], scalars: [Float](repeating: -.infinity, count: 3))
        #expect(Tensor.multiHeadAttention(query: q, key: k, value: v, headCount: 1, keyBias: infinite).toArray() == [0, 0, 0, 0])
    }
}
