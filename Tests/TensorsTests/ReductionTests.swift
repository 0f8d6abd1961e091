import Testing
import Tensors
import TestSupport

/// Reductions: fast kernels against `Reference` (Double sums) on odd shapes and axis sets.
@Suite struct ReductionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let shape: [Int], axes: [Int]
        var testDescription: String { "\(shape) over \(axes)" }
    }

    static let cases: [Case] = [
        Case(shape: [1], axes: [0]),
        Case(shape: [17], axes: [0]),
        Case(shape: [5, 31], axes: [1]),          // rows (C = 1)
        Case(shape: [5, 31], axes: [0]),          // columns (C > 1)
        Case(shape: [5, 31], axes: [-1]),
        Case(shape: [3, 7, 600], axes: [1]),      // middle axis, wide inner (column blocks)
        Case(shape: [2, 3, 5, 7], axes: [2, 3]),  // spatial
        Case(shape: [2, 3, 5, 7], axes: [0, 2]),  // non-adjacent: permuted first
        Case(shape: [2, 3, 5, 7], axes: [0, 1, 2, 3]),
        Case(shape: [300_007], axes: [0]),        // one long row: partial sums per thread
        Case(shape: [400, 400], axes: [1]),       // rows over two threads
        Case(shape: [3, 400, 1100], axes: [1]),   // column blocks over two threads
        Case(shape: [4, 0, 3], axes: [1]),        // empty reduced axis
    ]

    @Test(arguments: cases)
    func sumMeanMaxMatchReference(_ c: Case) {
        let x = random(c.shape, seed: 41)
        for keep in [false, true] {
            expectClose(x.sum(axes: c.axes, keepingDimensions: keep), Reference.sum(x, axes: c.axes, keepingDimensions: keep))
            if c.shape.contains(0) {
                // An empty mean is 0/0 = NaN, as in PyTorch.
                #expect(identical(x.mean(axes: c.axes, keepingDimensions: keep), Reference.mean(x, axes: c.axes, keepingDimensions: keep)))
            } else {
                expectClose(x.mean(axes: c.axes, keepingDimensions: keep), Reference.mean(x, axes: c.axes, keepingDimensions: keep))
            }
            if !c.shape.contains(0) {
                #expect(identical(x.max(axes: c.axes, keepingDimensions: keep), Reference.max(x, axes: c.axes, keepingDimensions: keep)))
            }
        }
    }

    @Test(arguments: [([1], 0), ([19], 0), ([4, 33], 1), ([4, 33], 0), ([3, 40, 5], 1), ([2, 2, 700], -1), ([400, 400], 1), ([3, 400, 700], 1)])
    func argmaxMatchesReference(_ c: ([Int], Int)) {
        // Few distinct values: plenty of ties, so first occurrence matters.
        let x = random(c.0, seed: 42).map { ($0 * 3).rounded() }
        #expect(x.argmax(axis: c.1).toInt64Array() == Reference.argmax(x, axis: c.1).toInt64Array())
        #expect(x.argmax(axis: c.1, keepingDimensions: true).shape == Reference.argmax(x, axis: c.1, keepingDimensions: true).shape)
    }

    @Test func argmaxTakesTheFirstOfTiedMaximaAsPyTorch() {
        // torch.argmax([[1, 5, 5], [2, 2, 1]], -1) = [1, 0]; over axis 0 of [[1, 5, 5], [2, 5, 1]] = [1, 0, 0].
        #expect(Tensor(shape: [2, 3], scalars: [1, 5, 5, 2, 2, 1]).argmax(axis: -1).toInt64Array() == [1, 0])
        #expect(Tensor(shape: [2, 3], scalars: [1, 5, 5, 2, 5, 1]).argmax(axis: 0).toInt64Array() == [1, 0, 0])
        // Ties spread over vector lanes and the tail: 40 equal maxima, the first at 3.
        var values = [Float](repeating: 0, count: 40)
        for i in stride(from: 3, to: 40, by: 3) { values[i] = 7 }
        #expect(Tensor(shape: [40], scalars: values).argmax(axis: 0).toInt64Array() == [3])
        #expect(Tensor(shape: [3], scalars: [-.infinity, -.infinity, -.infinity]).argmax(axis: 0).toInt64Array() == [0])
    }

    @Test func nanWinsMaxAndArgmax() {
        var values = [Float](repeating: 1, count: 37)
        values[20] = .nan; values[30] = .nan; values[5] = 9
        let x = Tensor(shape: [37], scalars: values)
        #expect(x.max(axes: [0]).toArray()[0].isNaN)
        #expect(x.argmax(axis: 0).toInt64Array() == [20])
        let columns = Tensor(shape: [3, 2], scalars: [1, 2, .nan, 0, 5, .nan])
        #expect(columns.argmax(axis: 0).toInt64Array() == [1, 2])
        let m = columns.max(axes: [0]).toArray()
        #expect(m[0].isNaN && m[1].isNaN)
    }

    @Test(arguments: [([1, 1], -1), ([3, 17], -1), ([3, 17], 0), ([2, 5, 33], 1), ([64, 384], -1), ([512, 384], -1), ([3, 300, 700], 1)])
    func l2NormalizeMatchesReference(_ c: ([Int], Int)) {
        let x = random(c.0, seed: 43)
        expectClose(x.l2Normalized(axis: c.1), Reference.l2Normalized(x, axis: c.1), tolerance: 1e-6)
    }

    @Test func l2NormalizeKeepsZeroRowsZeroAsPyTorch() {
        // F.normalize([[0, 0], [3, 4], [1e-13, 0]]) = [[0, 0], [0.6, 0.8], [0.1, 0]] (norm clamped to eps).
        let y = Tensor(shape: [3, 2], scalars: [0, 0, 3, 4, 1e-13, 0]).l2Normalized()
        expectClose(y, Tensor(shape: [3, 2], scalars: [0, 0, 0.6, 0.8, 0.1, 0]), tolerance: 1e-6)
    }

    @Test func vectorNormMatchesComposedOpsAndIsZeroGradientAtZeroAsPyTorch() {
        // torch.linalg.vector_norm(x, dim=1) for rows [0, 0, 0] and [1, 2, 2]: [0, 3]; the gradient of
        // its sum is [[0, 0, 0], [1/3, 2/3, 2/3]] — PyTorch returns 0 at a zero norm, not NaN.
        let x = leaf(Tensor(shape: [2, 3], scalars: [0, 0, 0, 1, 2, 2]))
        let norm = x.vectorNorm(axes: [1])
        #expect(norm.shape == [2])
        #expect(norm.toArray() == [0, 3])
        let g = gradients(of: norm, seed: Tensor(shape: [2], scalars: [1, 1]), withRespectTo: [x])
        expectClose(g[0], Tensor(shape: [2, 3], scalars: [0, 0, 0, 1.0 / 3, 2.0 / 3, 2.0 / 3]), tolerance: 1e-6)
        // The composed form is what it replaces: NaN at zero.
        let composed = gradients(of: (x * x).sum(axes: [1]).sqrt(), seed: Tensor(shape: [2], scalars: [1, 1]), withRespectTo: [x])
        #expect(composed[0]?.toArray().prefix(3).allSatisfy(\.isNaN) == true)
        // Non-adjacent axes, kept dimensions: the values of the composed ops.
        let y = random([2, 3, 4, 5], seed: 46)
        expectClose(y.vectorNorm(axes: [0, 2], keepingDimensions: true), (y * y).sum(axes: [0, 2], keepingDimensions: true).sqrt(),
                    tolerance: 1e-6)
    }

    @Test func gradientsMatchComposedOps() {
        let x = leaf(random([3, 6], seed: 44))
        let seed = random([3, 6], seed: 45)
        let fused = gradients(of: x.l2Normalized(), seed: seed, withRespectTo: [x])
        let norm = (x * x).sum(axes: [1], keepingDimensions: true).sqrt()
        let composed = gradients(of: x / norm, seed: seed, withRespectTo: [x])
        expectClose(fused[0], composed[0])
        // max: the gradient goes to the maximum, split between ties.
        let tied = leaf(Tensor(shape: [2, 3], scalars: [1, 4, 4, 2, 0, 1]))
        let g = gradients(of: tied.max(axes: [1]), seed: Tensor(shape: [2], scalars: [1, 1]), withRespectTo: [tied])
        #expect(g[0]?.toArray() == [0, 0.5, 0.5, 1, 0, 0])
    }
}
