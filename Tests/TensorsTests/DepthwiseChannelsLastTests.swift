import Testing
import Tensors
import TestSupport

private let singleThreadPool = ThreadPool(threadCount: 1)
private let twoThreadPool = ThreadPool(threadCount: 2)

/// The channels-last depthwise convolution against its naive twin (`conv2dNaive` on NCHW, the
/// result permuted): strides, paddings, dilation, kernel sizes, channel counts that are and are
/// not multiples of 16, planes from 1×1 to 23×19, each activation, one and two threads.
@Suite struct DepthwiseChannelsLastTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batch: Int, channels: Int, height: Int, width: Int
        let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
        var testDescription: String {
            "\(batch)×\(channels)×\(height)×\(width) k\(kernel) s\(stride) p\(padding) d\(dilation)"
        }
    }

    static let cases: [Case] = [
        Case(batch: 1, channels: 32, height: 7, width: 7, kernel: (5, 5), stride: (1, 1), padding: (2, 2), dilation: (1, 1)),
        Case(batch: 2, channels: 48, height: 14, width: 14, kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1)),
        Case(batch: 1, channels: 24, height: 23, width: 19, kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (1, 1)),
        Case(batch: 2, channels: 16, height: 9, width: 12, kernel: (5, 5), stride: (2, 2), padding: (2, 2), dilation: (1, 1)),
        Case(batch: 1, channels: 35, height: 11, width: 13, kernel: (3, 3), stride: (1, 2), padding: (0, 1), dilation: (2, 1)),
        Case(batch: 1, channels: 64, height: 1, width: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (1, 1)),
        Case(batch: 3, channels: 16, height: 8, width: 8, kernel: (7, 7), stride: (1, 1), padding: (3, 3), dilation: (1, 1)),
        Case(batch: 1, channels: 8, height: 6, width: 30, kernel: (1, 3), stride: (1, 1), padding: (0, 0), dilation: (1, 1)),
    ]

    @Test(arguments: cases, [FusedActivation.none, .relu, .silu])
    func matchesTheNaiveConvolution(_ layer: Case, _ activation: FusedActivation) {
        let g = Conv2DGeometry(batch: layer.batch, inputChannels: layer.channels, inputHeight: layer.height, inputWidth: layer.width,
                               outputChannels: layer.channels, kernelSize: layer.kernel, stride: layer.stride,
                               padding: layer.padding, dilation: layer.dilation, groups: layer.channels)
        let input = randomTensor([layer.batch, layer.channels, layer.height, layer.width], seed: 5)
        let weight = randomTensor([layer.channels, 1, layer.kernel.0, layer.kernel.1], seed: 6)
        let bias = randomTensor([layer.channels], seed: 7)
        var expected = Tensor(zeros: [g.batch, g.outputChannels, g.outputHeight, g.outputWidth])
        input.withFloats { x in
            weight.withFloats { w in
                bias.withFloats { b in
                    expected.withMutableFloats { out in
                        conv2dNaive(input: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, output: out.baseAddress!,
                                    geometry: g, relu: activation == .relu, silu: activation == .silu)
                    }
                }
            }
        }
        for pool in [singleThreadPool, twoThreadPool] {
            let actual = ThreadPool.withCurrent(pool) {
                Tensor.depthwiseConv2dChannelsLast(input.channelsLast(), taps: Tensor.depthwiseTaps(weight), bias: bias,
                                                   kernelSize: layer.kernel, stride: layer.stride, padding: layer.padding,
                                                   dilation: layer.dilation, activation: activation)
            }
            #expect(actual.shape == [g.batch, g.outputHeight, g.outputWidth, g.outputChannels])
            let d = difference(actual.channelsFirst(), expected)
            #expect(d != nil && d!.scaledError <= 1e-5, "\(String(describing: d))")
        }
    }
}
