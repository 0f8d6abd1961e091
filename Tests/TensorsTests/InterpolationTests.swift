import Testing
@testable import Tensors
import TestSupport

// Bilinear interpolation (Tensor+Interpolation.swift, Kernels/InterpolationKernels.swift):
// the fast kernels against the dense-matrix reference, forward and backward, and PyTorch's
// source-index conventions on hand-checked values.

private let serialPool = ThreadPool(threadCount: 1)

@Suite struct InterpolationTests {
    static let sizes: [(input: [Int], output: (Int, Int))] = [
        ([1, 1, 2, 2], (4, 4)), ([2, 3, 5, 7], (11, 13)), ([1, 2, 8, 9], (3, 4)), ([1, 1, 6, 1], (2, 5)),
        ([1, 2, 7, 7], (64, 64)), ([2, 1, 3, 5], (3, 5)), ([1, 1, 1, 1], (3, 2)),
    ]

    @Test(arguments: sizes.indices, [false, true])
    func forwardAndBackwardMatchReference(_ index: Int, alignCorners: Bool) {
        let (shape, size) = InterpolationTests.sizes[index]
        let x = randomTensor(shape, seed: UInt64(index))
        let fast = x.interpolateBilinear(size: size, alignCorners: alignCorners)
        let reference = Reference.interpolateBilinear(x, size: size, alignCorners: alignCorners)
        #expect(isClose(fast, reference, tolerance: 1e-6), "\(difference(fast, reference)!)")

        let gradient = randomTensor(fast.shape, seed: UInt64(index) + 100)
        let rows = LinearTaps.bilinear(inputSize: shape[2], outputSize: size.0, alignCorners: alignCorners)
        let columns = LinearTaps.bilinear(inputSize: shape[3], outputSize: size.1, alignCorners: alignCorners)
        var actual = [Float](repeating: .nan, count: x.count)
        gradient.withFloats { g in
            bilinearInterpolateBackwardKernel(gradInput: &actual, gradOutput: g.baseAddress!, planes: shape[0] * shape[1],
                                              height: shape[2], width: shape[3], rows: rows, columns: columns, pool: serialPool)
        }
        let expected = Reference.interpolateBilinearBackward(gradient, inputShape: shape, alignCorners: alignCorners)
        #expect(isClose(Tensor(shape: shape, scalars: actual), expected, tolerance: 1e-5))
    }

    @Test func sourcePositionsFollowPyTorch() {
        // align_corners=False, 2 → 4: x = (p + ½)·½ − ½ = −0.25 (clamped to 0), 0.25, 0.75, 1.25.
        let halfPixel = LinearTaps.bilinear(inputSize: 2, outputSize: 4, alignCorners: false)
        #expect(halfPixel.map(\.lower) == [0, 0, 0, 1] && halfPixel.map(\.upper) == [1, 1, 1, 1])
        // Past the last input the upper tap is clamped onto the lower one (PyTorch's h1p = 0).
        #expect(halfPixel.map(\.upperWeight) == [0, 0.25, 0.75, 0.25])
        // align_corners=True, 2 → 4: x = p/3.
        let corners = LinearTaps.bilinear(inputSize: 2, outputSize: 4, alignCorners: true)
        #expect(corners.map(\.upperWeight).map { ($0 * 3).rounded() } == [0, 1, 2, 0])
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [0, 1, 2, 3])
        #expect(x.interpolateBilinear(size: (4, 4)).toArray()
                == [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
        // The same size without aligned corners is the identity.
        let y = randomTensor([1, 2, 3, 4], seed: 9)
        #expect(identical(y.interpolateBilinear(size: (3, 4)), y))
    }
}
