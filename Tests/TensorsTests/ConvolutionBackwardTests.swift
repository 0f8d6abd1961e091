import Testing
@testable import Tensors
import TestSupport

// The convolution backward kernels (ConvolutionBackward.swift) against their naive twins, on
// every shape family the model zoo uses, on one and two threads.

private let serialPool = ThreadPool(threadCount: 1)
private let twoThreadPool = ThreadPool(threadCount: 2)

/// Largest difference between `actual` and `expected`, relative to max(1, max |expected|).
private func scaledError(_ actual: [Float], _ expected: [Float]) -> Float {
    let scale = max(1, expected.map(abs).max() ?? 0)
    return zip(actual, expected).map { abs($0 - $1) }.max().map { $0.isNaN ? .infinity : $0 / scale } ?? 0
}

@Suite struct ConvolutionBackwardTests {
    static let layers: [ConvolutionCase] = [
        ConvolutionCase(batch: 2, channels: 3, height: 9, width: 8, outputChannels: 5),
        ConvolutionCase(batch: 2, channels: 16, height: 14, width: 14, outputChannels: 32, padding: (1, 1)),
        ConvolutionCase(channels: 3, height: 20, width: 18, outputChannels: 8, kernel: (7, 7), stride: (2, 2), padding: (3, 3)),
        ConvolutionCase(batch: 2, channels: 8, height: 9, width: 9, outputChannels: 12, stride: (2, 2), padding: (1, 1)),
        ConvolutionCase(channels: 6, height: 11, width: 10, outputChannels: 4, kernel: (2, 3), stride: (2, 1), padding: (1, 2), dilation: (2, 1)),
        ConvolutionCase(batch: 2, channels: 8, height: 7, width: 7, outputChannels: 12, groups: 4),
        ConvolutionCase(batch: 2, channels: 8, height: 9, width: 10, outputChannels: 8, stride: (2, 1), padding: (1, 1), groups: 8),
        ConvolutionCase(channels: 4, height: 8, width: 8, outputChannels: 8, kernel: (5, 5), padding: (4, 4), dilation: (2, 2), groups: 4),
        ConvolutionCase(batch: 3, channels: 16, height: 7, width: 7, outputChannels: 24, kernel: (1, 1)),
        ConvolutionCase(batch: 2, channels: 8, height: 9, width: 9, outputChannels: 16, kernel: (1, 1), stride: (2, 2)),
        ConvolutionCase(channels: 3, height: 16, width: 16, outputChannels: 6, kernel: (4, 4), stride: (4, 4)),
    ]

    @Test(arguments: layers, [1, 2])
    func inputGradientMatchesNaive(_ layer: ConvolutionCase, threads: Int) {
        let g = layer.geometry
        let gradient = randomTensor([g.batch, g.outputChannels, g.outputHeight, g.outputWidth], seed: 21)
        let weight = randomTensor([g.outputChannels, g.inputChannelsPerGroup, g.kernelHeight, g.kernelWidth], seed: 22)
        let count = g.batch * g.inputChannels * g.inputHeight * g.inputWidth
        var expected = [Float](repeating: 0, count: count), actual = [Float](repeating: .nan, count: count)
        gradient.withFloats { gy in
            weight.withFloats { w in
                conv2dBackwardInputNaive(gradOutput: gy.baseAddress!, weight: w.baseAddress!, gradInput: &expected, geometry: g)
                conv2dBackwardInput(gradOutput: gy.baseAddress!, weight: w.baseAddress!, gradInput: &actual, geometry: g,
                                    pool: threads == 1 ? serialPool : twoThreadPool)
            }
        }
        #expect(scaledError(actual, expected) <= 1e-5)
    }

    @Test(arguments: layers, [1, 2])
    func weightAndBiasGradientsMatchNaive(_ layer: ConvolutionCase, threads: Int) {
        let g = layer.geometry
        let gradient = randomTensor([g.batch, g.outputChannels, g.outputHeight, g.outputWidth], seed: 31)
        let input = randomTensor([g.batch, g.inputChannels, g.inputHeight, g.inputWidth], seed: 32)
        let count = g.outputChannels * g.inputChannelsPerGroup * g.kernelHeight * g.kernelWidth
        var expected = [Float](repeating: 0, count: count), actual = [Float](repeating: .nan, count: count)
        var bias = [Float](repeating: .nan, count: g.outputChannels)
        gradient.withFloats { gy in
            input.withFloats { x in
                conv2dBackwardWeightNaive(gradOutput: gy.baseAddress!, input: x.baseAddress!, gradWeight: &expected, geometry: g)
                conv2dBackwardWeight(gradOutput: gy.baseAddress!, input: x.baseAddress!, gradWeight: &actual, geometry: g,
                                     pool: threads == 1 ? serialPool : twoThreadPool)
            }
            conv2dBackwardBias(gradOutput: gy.baseAddress!, gradBias: &bias, geometry: g)
        }
        #expect(scaledError(actual, expected) <= 1e-5)
        let expectedBias = gradient.sum(axes: [0, 2, 3]).toArray()
        #expect(scaledError(bias, expectedBias) <= 1e-6)
    }

    /// The packed-weight (inference) path differentiates to the input and bias like the plain one.
    @Test func packedWeightPathMatchesThePlainPath() throws {
        var x = randomTensor([2, 4, 6, 6], seed: 41)
        x.requiresGrad = true
        let weight = randomTensor([8, 4, 3, 3], seed: 42)
        var bias = randomTensor([8], seed: 43)
        bias.requiresGrad = true
        let seed = randomTensor([2, 8, 3, 3], seed: 44)
        let packed = Tensor.conv2d(x, packedWeight: PackedMatrix(convolutionWeight: weight), bias: bias, stride: (2, 2), padding: (1, 1), relu: true)
        let plain = Tensor.conv2d(x, weight: weight, bias: bias, stride: (2, 2), padding: (1, 1)).relu()
        let fromPacked = try Tensor.gradients(of: packed, withRespectTo: [x, bias], seed: seed)
        let fromPlain = try Tensor.gradients(of: plain, withRespectTo: [x, bias], seed: seed)
        #expect(isClose(fromPacked[0], fromPlain[0], tolerance: 1e-6))
        #expect(isClose(fromPacked[1], fromPlain[1], tolerance: 1e-6))
    }
}
