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

// Separable resampling along one axis (`Tensor.resampled`, `resampleKernel`) against the dense
// reference, for the tap kinds the models and ONNX Resize build, on every axis position.
@Suite struct ResampleTests {
    static func taps(_ kind: String, inputSize: Int, outputSize: Int) -> ResampleTaps {
        let scale = Float(inputSize) / Float(outputSize)
        let sources = (0..<outputSize).map { scale * (Float($0) + 0.5) - 0.5 }
        switch kind {
        case "nearest": return .nearest(indices: sources.map { Int($0.rounded()) }, inputSize: inputSize)
        case "linear": return .linear(sources: sources, inputSize: inputSize)
        case "cubic": return .cubic(sources: sources, inputSize: inputSize, a: -0.75, excludeOutside: false)
        case "cubic-exclude": return .cubic(sources: sources, inputSize: inputSize, a: -0.5, excludeOutside: true)
        default:
            return .antialiased(inputSize: inputSize, outputRange: 0..<outputSize, scale: scale, interpolationSize: 2,
                                foldOutside: kind == "antialiased-fold", center: { scale * (Float($0) + 0.5) }) { $0 < 1 ? 1 - $0 : 0 }
        }
    }

    @Test(arguments: ["nearest", "linear", "cubic", "cubic-exclude", "antialiased", "antialiased-fold"], [0, 1, 2])
    func kernelMatchesReference(_ kind: String, axis: Int) {
        let shape = [3, 5, 4]
        for outputSize in [1, 2, 3, 9, 13] {
            let x = randomTensor(shape, seed: UInt64(axis * 10 + outputSize))
            let taps = Self.taps(kind, inputSize: shape[axis], outputSize: outputSize)
            let fast = x.resampled(axis: axis, taps: taps)
            let reference = Reference.resample(x, axis: axis, taps: taps)
            #expect(fast.shape == reference.shape)
            #expect(isClose(fast, reference, tolerance: 1e-6), "\(kind) axis \(axis) → \(outputSize): \(difference(fast, reference)!)")
        }
    }

    @Test func tapsSumToOneAndStayInside() {
        for kind in ["nearest", "linear", "cubic", "cubic-exclude", "antialiased", "antialiased-fold"] {
            for (input, output) in [(1, 4), (5, 3), (7, 16), (16, 3), (2, 2)] {
                let taps = Self.taps(kind, inputSize: input, outputSize: output)
                for p in 0..<output {
                    #expect(taps.starts[p] >= 0 && taps.starts[p] + taps.counts[p] <= input, "\(kind) \(input)→\(output)")
                    let sum = (0..<taps.counts[p]).reduce(Float(0)) { $0 + taps.weights[p * taps.maximumTaps + $1] }
                    #expect(abs(sum - 1) < 1e-5, "\(kind) \(input)→\(output) position \(p): \(sum)")
                }
            }
        }
    }

    @Test func windowsPastTheInputFoldOntoTheEdgeOrAreExcluded() {
        // Window −1…2 over 3 inputs: position −1 adds to input 0 (edge padding) or is dropped.
        let folded = ResampleTaps.clampingWindows(inputSize: 3, firsts: [-1], weights: [0.25, 0.25, 0.25, 0.25], windowSize: 4)
        #expect(folded.starts == [0] && folded.counts == [3] && Array(folded.weights.prefix(3)) == [0.5, 0.25, 0.25])
        let excluded = ResampleTaps.clampingWindows(inputSize: 3, firsts: [-1], weights: [0.25, 0.25, 0.25, 0.25], windowSize: 4,
                                                    excludeOutside: true)
        #expect(excluded.starts == [0] && excluded.counts == [3])
        #expect(excluded.weights.prefix(3).allSatisfy { abs($0 - 1.0 / 3) < 1e-7 })
        // Linear at the last input: ½ and ½ on the same element; the identity keeps a tensor as it is.
        let last = ResampleTaps.linear(sources: [2, 5], inputSize: 3)
        #expect(last.starts == [2, 2] && last.counts == [1, 1] && last.weights == [1, 0, 1, 0])
        let y = randomTensor([2, 3], seed: 4)
        #expect(identical(y.resampled(axis: 1, taps: .identity(outputRange: 0..<3)), y))
    }
}
