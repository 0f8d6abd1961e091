import Testing
import Tensors
import TestSupport

/// Softmax over any axis with an additive mask broadcast over heads and queries, against the
/// Double `Reference.softmax`, and its edge cases.
@Suite struct SoftmaxTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let shape: [Int], axis: Int, mask: [Int]?
        var testDescription: String { "\(shape) axis \(axis) mask \(mask.map { "\($0)" } ?? "none")" }
    }

    static let cases: [Case] = [
        Case(shape: [1], axis: -1, mask: nil),
        Case(shape: [7], axis: 0, mask: nil),
        Case(shape: [3, 17], axis: -1, mask: nil),
        Case(shape: [3, 17], axis: 0, mask: nil),          // strided kernel
        Case(shape: [4, 33, 5], axis: 1, mask: nil),
        Case(shape: [12, 128, 128], axis: -1, mask: nil),
        Case(shape: [2, 3, 5, 19], axis: -1, mask: [2, 1, 1, 19]),   // padding mask over heads and queries
        Case(shape: [2, 3, 5, 19], axis: -1, mask: [1, 1, 5, 19]),   // causal-style mask over batch and heads
        Case(shape: [2, 3, 5, 19], axis: -1, mask: [19]),
        Case(shape: [2, 3, 5, 19], axis: -1, mask: [2, 3, 5, 19]),
        Case(shape: [2, 3, 5, 19], axis: -1, mask: [2, 1, 5, 1]),    // constant along the softmax axis
        Case(shape: [2, 3, 5, 19], axis: 2, mask: [2, 1, 1, 19]),    // mask with a middle-axis softmax
    ]

    @Test(arguments: cases)
    func softmaxMatchesReference(_ c: Case) {
        let x = random(c.shape, seed: 81, scale: 8)
        // Masks with −inf entries and large negative ones, as attention masks have.
        let mask = c.mask.map { shape in
            random(shape, seed: 82).map { $0 < -0.6 ? -.infinity : ($0 < -0.2 ? -1e9 : $0) }
        }
        expectClose(x.softmax(axis: c.axis, additiveMask: mask), Reference.softmax(x, axis: c.axis, additiveMask: mask), tolerance: 1e-6)
    }

    @Test func fullyMaskedRowsGiveZerosAndNaNPropagates() {
        let inf = Float.infinity
        let x = Tensor(shape: [4, 3], scalars: [-inf, -inf, -inf, .nan, 1, 2, 1, 2, 3, -inf, 0, -inf])
        let y = x.softmax().toArray()
        #expect(Array(y[0..<3]) == [0, 0, 0])
        #expect(y[3..<6].allSatisfy { $0.isNaN })
        #expect(Array(y[9..<12]) == [0, 1, 0])
        // Along a middle axis too.
        let column = Tensor(shape: [2, 2], scalars: [-inf, 1, -inf, 1]).softmax(axis: 0).toArray()
        #expect(column == [0, 0.5, 0, 0.5])
        // A row masked out entirely by the mask.
        let masked = Tensor(shape: [1, 2, 3], repeating: 1).softmax(additiveMask: Tensor(shape: [1, 1, 3], repeating: -inf))
        #expect(masked.toArray() == [0, 0, 0, 0, 0, 0])
    }

    @Test func rowsSumToOne() {
        let y = random([5, 1000], seed: 83, scale: 30).softmax()
        for total in y.sum(axes: [1]).toArray() { #expect(abs(total - 1) < 1e-5) }
    }

    @Test func gradientMatchesComposedOps() {
        let x = leaf(random([2, 3, 7], seed: 84)), mask = leaf(random([2, 1, 7], seed: 85))
        let seed = random([2, 3, 7], seed: 86)
        let fused = gradients(of: x.softmax(axis: -1, additiveMask: mask), seed: seed, withRespectTo: [x, mask])
        let logits = x + mask
        let e = (logits - logits.max(axes: [2], keepingDimensions: true).detached()).exp()
        let composed = gradients(of: e / e.sum(axes: [2], keepingDimensions: true), seed: seed, withRespectTo: [x, mask])
        expectClose(fused[0], composed[0])
        expectClose(fused[1], composed[1])
    }
}
