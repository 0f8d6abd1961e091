import Testing
import Tensors
import TestSupport

/// Broadcasting arithmetic and scalar ops: the fast kernels against `Reference.binary`/`.unary`.
/// Each element is one IEEE operation in both, so the results must be bit-identical.
@Suite struct ArithmeticTests {
    struct Pair: Sendable, CustomTestStringConvertible {
        let a: [Int], b: [Int]
        var testDescription: String { "\(a) ∘ \(b)" }
    }

    static let pairs: [Pair] = [
        Pair(a: [1], b: [1]),
        Pair(a: [17], b: [17]),
        Pair(a: [3, 5], b: []),               // rank-0 scalar
        Pair(a: [33, 16], b: [1]),            // one-element tensor
        Pair(a: [], b: [4, 7]),               // scalar on the left
        Pair(a: [7, 19], b: [19]),            // row (bias along the last axis)
        Pair(a: [7, 19], b: [7, 1]),          // column
        Pair(a: [5, 13, 3], b: [1, 13, 1]),   // middle axis
        Pair(a: [2, 5, 7, 11], b: [1, 5, 1, 1]),  // NCHW channel bias
        Pair(a: [4, 1], b: [1, 37]),          // outer product
        Pair(a: [1], b: [23, 3]),
        Pair(a: [2, 3, 1, 5], b: [3, 4, 1]),  // both broadcast, different ranks
        Pair(a: [300, 257], b: [257]),        // large: split over threads inside rows
        Pair(a: [2, 64, 33, 33], b: [1, 64, 1, 1]),  // large enough for two threads
        Pair(a: [40_000], b: [40_000]),
        Pair(a: [0, 3], b: [3]),              // empty
    ]

    @Test(arguments: pairs)
    func binaryOpsMatchReferenceExactly(_ pair: Pair) {
        let a = random(pair.a, seed: 1), b = random(pair.b, seed: 2, scale: 3)
        #expect(identical(a + b, Reference.binary(a, b, +)))
        #expect(identical(a - b, Reference.binary(a, b, -)))
        #expect(identical(a * b, Reference.binary(a, b, *)))
        #expect(identical(a / b, Reference.binary(a, b, /)))
        #expect(identical(b - a, Reference.binary(b, a, -)))
    }

    @Test(arguments: [[1], [15], [16], [17], [3, 31], [140_001]])
    func scalarOpsMatchReferenceExactly(_ shape: [Int]) {
        let x = random(shape, seed: 3, scale: 5)
        #expect(identical(x + 0.3, Reference.unary(x) { $0 + 0.3 }))
        #expect(identical(x - 0.3, Reference.unary(x) { $0 - 0.3 }))
        #expect(identical(x * 1.7, Reference.unary(x) { $0 * 1.7 }))
        #expect(identical(x / 3, Reference.unary(x) { $0 / 3 }))
        #expect(identical(2 - x, Reference.unary(x) { 2 - $0 }))
        #expect(identical(-x, Reference.unary(x) { -$0 }))
    }

    @Test func nanAndInfinityPropagateAsIEEE() {
        let a = Tensor(shape: [4], scalars: [.nan, .infinity, 1, 0])
        let b = Tensor(shape: [4], scalars: [1, .infinity, 0, 0])
        let quotient = (a / b).toArray()
        #expect(quotient[0].isNaN && quotient[1].isNaN && quotient[2] == .infinity && quotient[3].isNaN)
        #expect((a - b).toArray()[1].isNaN)
    }

    @Test func broadcastLayoutMergesAxesThatMoveTogether() {
        let channel = BroadcastLayout([2, 5, 7, 11], [1, 5, 1, 1])
        #expect(channel.shape == [2, 5, 77] && channel.stridesA == [385, 77, 1] && channel.stridesB == [0, 1, 0])
        let same = BroadcastLayout([2, 3, 4], [2, 3, 4])
        #expect(same.shape == [24] && same.stridesA == [1] && same.stridesB == [1])
        let row = BroadcastLayout([6, 8], [8])
        #expect(row.shape == [6, 8] && row.stridesB == [0, 1])
        #expect(BroadcastLayout([], []).shape == [1])
    }

    @Test func gradientsOfBroadcastOpsReduceToOperandShapes() {
        let a = leaf(random([3, 4], seed: 5)), b = leaf(random([4], seed: 6))
        let seed = random([3, 4], seed: 7)
        let grads = gradients(of: a * b, seed: seed, withRespectTo: [a, b])
        expectClose(grads[0], seed * b)
        expectClose(grads[1], (seed * a).sum(axes: [0]))
        let quotient = gradients(of: a / 4, seed: seed, withRespectTo: [a])
        expectClose(quotient[0], seed / 4)
    }
}
