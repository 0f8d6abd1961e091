import Testing
@testable import Tensors
import TestSupport

private let twoThreadPool = ThreadPool(threadCount: 2)

/// op(a)·op(b) for every leading index, with `gemmNaive`; a and b already broadcast to `batch`.
private func naiveBatchedProduct(_ a: Tensor, _ b: Tensor, batch: Int, m: Int, n: Int, k: Int,
                                 transposeA: Bool, transposeB: Bool) -> [Float] {
    let xs = a.toArray(), ys = b.toArray()
    var out = [Float](repeating: 0, count: batch * m * n)
    for index in 0..<batch {
        let aItem = Array(xs[(index * m * k)..<((index + 1) * m * k)]), bItem = Array(ys[(index * k * n)..<((index + 1) * k * n)])
        var c = [Float](repeating: 0, count: m * n)
        gemmNaive(m: m, n: n, k: k, a: aItem, lda: transposeA ? m : k, transposeA: transposeA,
                  b: bItem, ldb: transposeB ? k : n, transposeB: transposeB, c: &c, ldc: n)
        out.replaceSubrange((index * m * n)..<((index + 1) * m * n), with: c)
    }
    return out
}

@Suite struct TensorMatMulTests {
    /// Batched products (run side by side on two threads when there are enough of them, one by
    /// one with a split GEMM otherwise) against the naive product, for every transpose.
    @Test(arguments: [1, 3, 4])
    func batchedMatMulMatchesNaive(batch: Int) {
        let (m, n, k) = (13, 21, 9)
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor([batch] + (transposeA ? [k, m] : [m, k]), seed: 1)
            let b = randomTensor([batch] + (transposeB ? [n, k] : [k, n]), seed: 2)
            let product = ThreadPool.withCurrent(twoThreadPool) {
                Tensor.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
            }
            #expect(product.shape == [batch, m, n])
            let expected = Tensor(shape: [batch, m, n], scalars: naiveBatchedProduct(a, b, batch: batch, m: m, n: n, k: k,
                                                                                      transposeA: transposeA, transposeB: transposeB))
            #expect(isClose(product, expected, tolerance: 1e-5), "transposeA \(transposeA) transposeB \(transposeB)")
        }
    }

    @Test func batchAxesBroadcast() {
        // [2, 1, m, k] · [3, k, n] → [2, 3, m, n]: every a item meets every b item.
        let (m, n, k) = (5, 6, 7)
        let a = randomTensor([2, 1, m, k], seed: 3), b = randomTensor([3, k, n], seed: 4)
        let product = ThreadPool.withCurrent(twoThreadPool) { Tensor.matmul(a, b) }
        #expect(product.shape == [2, 3, m, n])
        let xs = a.toArray(), ys = b.toArray(), out = product.toArray()
        for i in 0..<2 {
            for j in 0..<3 {
                var c = [Float](repeating: 0, count: m * n)
                gemmNaive(m: m, n: n, k: k, a: Array(xs[(i * m * k)..<((i + 1) * m * k)]), lda: k,
                          b: Array(ys[(j * k * n)..<((j + 1) * k * n)]), ldb: n, c: &c, ldc: n)
                let item = Array(out[((i * 3 + j) * m * n)..<((i * 3 + j + 1) * m * n)])
                #expect(zip(item, c).allSatisfy { abs($0 - $1) < 1e-5 }, "item \(i), \(j)")
            }
        }
    }

    @Test func emptyDepthGivesZeros() {
        let product = Tensor.matmul(Tensor(zeros: [3, 0]), Tensor(zeros: [0, 4]))
        #expect(product.shape == [3, 4])
        #expect(product.toArray() == [Float](repeating: 0, count: 12))
    }

    /// `linear` with a packed weight and with a plain one (inference path and recording path)
    /// against x·Wᵀ + b computed naively, over a leading batch axis.
    @Test(arguments: [(1, 7, 5), (3, 40, 33), (2, 70, 19)])
    func linearMatchesNaive(rows: Int, inFeatures: Int, outFeatures: Int) {
        let x = randomTensor([2, rows, inFeatures], seed: 1), weight = randomTensor([outFeatures, inFeatures], seed: 2)
        let bias = randomTensor([outFeatures], seed: 3)
        let xs = x.toArray(), ws = weight.toArray(), bs = bias.toArray()
        var expected = [Float](repeating: 0, count: 2 * rows * outFeatures)
        gemmNaive(m: 2 * rows, n: outFeatures, k: inFeatures, a: xs, lda: inFeatures, b: ws, ldb: inFeatures, transposeB: true,
                  c: &expected, ldc: outFeatures)
        for i in expected.indices { expected[i] += bs[i % outFeatures] }
        let reference = Tensor(shape: [2, rows, outFeatures], scalars: expected)
        let rectified = Tensor(shape: [2, rows, outFeatures], scalars: expected.map { max($0, 0) })

        let plain = Tensor.linear(x, weight: weight, bias: bias)
        #expect(isClose(plain, reference, tolerance: 1e-5), "\(String(describing: difference(plain, reference)))")
        let packed = PackedMatrix(weight)
        let fused = Tensor.linear(x, packedWeight: packed, bias: bias, relu: true)
        #expect(isClose(fused, rectified, tolerance: 1e-5), "\(String(describing: difference(fused, rectified)))")
        let unbiased = Tensor.linear(x, packedWeight: packed, bias: nil)
        let noBias = Tensor(shape: [2, rows, outFeatures], scalars: expected.enumerated().map { $0.element - bs[$0.offset % outFeatures] })
        #expect(isClose(unbiased, noBias, tolerance: 1e-5))
        // A residual accumulated in the GEMM: the product plus the residual, which is left untouched.
        let residual = Tensor(shape: [2, rows, outFeatures], scalars: (0..<(2 * rows * outFeatures)).map { Float($0 % 7) - 3 })
        let joined = Tensor.linear(x, packedWeight: packed, bias: bias, adding: residual)
        let sum = Tensor(shape: [2, rows, outFeatures], scalars: zip(expected, residual.toArray()).map { $0 + $1 })
        #expect(isClose(joined, sum, tolerance: 1e-5), "\(String(describing: difference(joined, sum)))")
        #expect(residual.toArray() == (0..<(2 * rows * outFeatures)).map { Float($0 % 7) - 3 })

        // Recording autograd takes the matmul + add route; same values, and a graph.
        var tracked = weight
        tracked.requiresGrad = true
        let recorded = Tensor.linear(x, weight: tracked, bias: bias)
        #expect(recorded.requiresGrad)
        #expect(isClose(recorded, reference, tolerance: 1e-5))
    }
}
