import Testing
@testable import Tensors
import TestSupport

@Suite struct PackedMatrixTests {
    @Test func packsOncePerLayoutAndTracksItsWeight() {
        let weight = randomTensor([20, 30], seed: 3)
        let packed = PackedMatrix(weight)
        #expect(packed.isPacking(weight))
        #expect(packed.packedByteCount == 0)
        let kernel = GEMMKernel.preferred
        let first = packed.panels(kernel: kernel, alongRows: true)
        let bytes = packed.packedByteCount
        #expect(bytes >= 20 * 30 * 4)
        #expect(packed.panels(kernel: kernel, alongRows: true) == first)
        #expect(packed.packedByteCount == bytes)
        var changed = weight
        changed.withMutableFloats { $0[0] += 1 }  // copy-on-write: the packed source keeps the old values
        #expect(!packed.isPacking(changed))
        #expect(packed.isPacking(weight))
    }

    @Test func convolutionWeightKeepsItsShape() {
        let packed = PackedMatrix(convolutionWeight: Tensor(zeros: [8, 3, 5, 7]))
        #expect(packed.rows == 8 && packed.columns == 105)
        #expect(packed.originalShape == [8, 3, 5, 7])
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

        // Recording autograd takes the matmul + add route; same values, and a graph.
        var tracked = weight
        tracked.requiresGrad = true
        let recorded = Tensor.linear(x, weight: tracked, bias: bias)
        #expect(recorded.requiresGrad)
        #expect(isClose(recorded, reference, tolerance: 1e-5))
    }
}
