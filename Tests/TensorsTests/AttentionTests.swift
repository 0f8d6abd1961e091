import Testing
import Tensors
import TestSupport

/// Scaled dot-product attention against the Double reference, with masks broadcast the ways
/// BERT and ViT use them.
@Suite struct AttentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batch: [Int], s: Int, t: Int, d: Int, dv: Int, mask: [Int]?
        var testDescription: String { "batch \(batch) S \(s) T \(t) D \(d) Dv \(dv) mask \(mask.map { "\($0)" } ?? "none")" }
    }

    static let cases: [Case] = [
        Case(batch: [1, 1], s: 1, t: 1, d: 1, dv: 1, mask: nil),
        Case(batch: [2, 3], s: 5, t: 7, d: 8, dv: 8, mask: nil),
        Case(batch: [2, 4], s: 17, t: 17, d: 16, dv: 16, mask: [2, 1, 1, 17]),  // BERT padding mask
        Case(batch: [1, 2], s: 9, t: 9, d: 32, dv: 5, mask: [9, 9]),           // causal-style [S, T]
        Case(batch: [3], s: 6, t: 11, d: 4, dv: 3, mask: [3, 6, 11]),          // rank 3
        Case(batch: [1, 12], s: 33, t: 33, d: 64, dv: 64, mask: [1, 1, 1, 33]),
    ]

    static func mask(_ shape: [Int]?) -> Tensor? {
        shape.map { random($0, seed: 91).map { $0 < -0.5 ? -.infinity : 0 } }
    }

    @Test(arguments: cases)
    func attentionMatchesReference(_ c: Case) {
        let q = random(c.batch + [c.s, c.d], seed: 92), k = random(c.batch + [c.t, c.d], seed: 93)
        let v = random(c.batch + [c.t, c.dv], seed: 94)
        let mask = Self.mask(c.mask)
        let expected = Reference.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask)
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask), expected)
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask, scale: 0.3),
                    Reference.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask, scale: 0.3))
    }

    @Test func fullyMaskedQueryGetsZerosAsPyTorch() {
        let q = random([1, 1, 2, 4], seed: 95), k = random([1, 1, 3, 4], seed: 96), v = random([1, 1, 3, 4], seed: 97)
        let mask = Tensor(shape: [1, 1, 2, 3], scalars: [-.infinity, -.infinity, -.infinity, 0, 0, 0])
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask).toArray()
        #expect(Array(out[0..<4]) == [0, 0, 0, 0])
        #expect(out[4..<8].allSatisfy { $0 != 0 })
    }

    @Test func recordingPathGivesTheSameValuesAndGradients() {
        let q = leaf(random([2, 2, 5, 4], seed: 98)), k = leaf(random([2, 2, 6, 4], seed: 99))
        let v = leaf(random([2, 2, 6, 3], seed: 100))
        let mask = Self.mask([2, 1, 1, 6])
        let recorded = Tensor.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask)
        let plain = GradMode.withDisabled { Tensor.scaledDotProductAttention(query: q, key: k, value: v, additiveMask: mask) }
        expectClose(recorded, plain, tolerance: 1e-6)
        let seed = random([2, 2, 5, 3], seed: 101)
        let grads = gradients(of: recorded, seed: seed, withRespectTo: [q, k, v])
        let scores = Tensor.matmul(q, k, transposeB: true) / 2
        let composed = Tensor.matmul(scores.softmax(additiveMask: mask), v)
        let expected = gradients(of: composed, seed: seed, withRespectTo: [q, k, v])
        for i in 0..<3 { expectClose(grads[i], expected[i]) }
    }
}
