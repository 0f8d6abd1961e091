import Testing
@testable import Tensors
import TestSupport

private let serialPool = ThreadPool(threadCount: 1)
private let twoThreadPool = ThreadPool(threadCount: 2)

/// One convolution layer to check: PyTorch's arguments.
struct ConvolutionCase: Sendable, CustomTestStringConvertible {
    var batch: Int, channels: Int, height: Int, width: Int, outputChannels: Int
    var kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    var groups: Int
    var bias: Bool

    init(batch: Int = 1, channels: Int, height: Int, width: Int, outputChannels: Int, kernel: (Int, Int) = (3, 3),
         stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true) {
        (self.batch, self.channels, self.height, self.width, self.outputChannels) = (batch, channels, height, width, outputChannels)
        (self.kernel, self.stride, self.padding, self.dilation) = (kernel, stride, padding, dilation)
        (self.groups, self.bias) = (groups, bias)
    }

    var geometry: Conv2DGeometry {
        Conv2DGeometry(batch: batch, inputChannels: channels, inputHeight: height, inputWidth: width, outputChannels: outputChannels,
                       kernelSize: kernel, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    var testDescription: String {
        "N\(batch) C\(channels) \(height)×\(width) → O\(outputChannels), k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)\(bias ? "" : " no bias")"
    }
}

/// Largest error of the fast convolution against `conv2dNaive`, relative to max(1, max |expected|).
private func convolutionError(_ layer: ConvolutionCase, path: ConvolutionPath?, kernel: GEMMKernel, pool: ThreadPool,
                              activation: FusedActivation, seed: UInt64 = 11) -> Float {
    let g = layer.geometry
    let input = randomTensor([g.batch, g.inputChannels, g.inputHeight, g.inputWidth], seed: seed)
    let weight = randomTensor([g.outputChannels, g.inputChannelsPerGroup, g.kernelHeight, g.kernelWidth], seed: seed + 1)
    let bias = randomTensor([g.outputChannels], seed: seed + 2)
    let count = g.batch * g.outputChannels * g.outputHeight * g.outputWidth
    var expected = [Float](repeating: 0, count: count)
    var actual = [Float](repeating: .nan, count: count)
    let packed = PackedMatrix(convolutionWeight: weight)
    input.withFloats { x in
        weight.withFloats { w in
            bias.withFloats { b in
                let biasPointer = layer.bias ? b.baseAddress : nil
                conv2dNaive(input: x.baseAddress!, weight: w.baseAddress!, bias: biasPointer, output: &expected, geometry: g,
                            relu: activation == .relu, silu: activation == .silu)
                actual.withUnsafeMutableBufferPointer { out in
                    conv2d(input: x.baseAddress!, weight: packed, bias: biasPointer, output: out.baseAddress!, geometry: g,
                           activation: activation, kernel: kernel, pool: pool, path: path, weightIsTransient: false)
                }
            }
        }
    }
    let scale = max(1, expected.map(abs).max() ?? 0)
    return zip(actual, expected).map { abs($0 - $1) }.max().map { $0.isNaN ? .infinity : $0 / scale } ?? 0
}

@Suite struct ConvolutionTests {
    static let layers: [ConvolutionCase] = [
        ConvolutionCase(channels: 5, height: 9, width: 9, outputChannels: 7, padding: (1, 1)),
        ConvolutionCase(channels: 3, height: 17, width: 15, outputChannels: 8, kernel: (7, 7), stride: (2, 2), padding: (3, 3)),
        ConvolutionCase(batch: 2, channels: 12, height: 7, width: 6, outputChannels: 10, kernel: (1, 1)),
        ConvolutionCase(channels: 8, height: 9, width: 9, outputChannels: 6, kernel: (1, 1), stride: (2, 2), bias: false),
        ConvolutionCase(channels: 4, height: 11, width: 10, outputChannels: 5, padding: (2, 2), dilation: (2, 2)),
        ConvolutionCase(batch: 2, channels: 6, height: 8, width: 8, outputChannels: 4, padding: (1, 1), groups: 2),
        ConvolutionCase(batch: 2, channels: 5, height: 10, width: 9, outputChannels: 5, padding: (1, 1), groups: 5),
        ConvolutionCase(channels: 4, height: 11, width: 11, outputChannels: 4, stride: (2, 2), padding: (1, 1), groups: 4, bias: false),
        // Depthwise runs of 32, 8 and single columns: ConvNeXt's 7×7 (pad 3) on a 45-wide plane,
        // stride 2 with an odd width and unequal padding, stride 3 with dilation, a plane narrower than 8.
        ConvolutionCase(batch: 2, channels: 3, height: 9, width: 45, outputChannels: 3, kernel: (7, 7), padding: (3, 3), groups: 3),
        ConvolutionCase(channels: 4, height: 13, width: 83, outputChannels: 4, kernel: (5, 5), stride: (2, 2), padding: (2, 1), groups: 4),
        ConvolutionCase(channels: 2, height: 12, width: 40, outputChannels: 2, stride: (1, 3), padding: (2, 2), dilation: (2, 2), groups: 2),
        ConvolutionCase(channels: 3, height: 5, width: 5, outputChannels: 3, stride: (2, 2), padding: (1, 1), groups: 3),
        // A row's last columns as a run of three and of four vectors; stride 2 with even padding
        // past sixteen input columns (the vector split of even and odd columns).
        ConvolutionCase(batch: 2, channels: 3, height: 6, width: 56, outputChannels: 3, padding: (1, 1), groups: 3),
        ConvolutionCase(channels: 5, height: 7, width: 60, outputChannels: 5, kernel: (5, 5), stride: (2, 2), padding: (2, 2), groups: 5),
        ConvolutionCase(channels: 3, height: 8, width: 13, outputChannels: 5, kernel: (2, 3), stride: (2, 1), padding: (0, 1), bias: false),
        ConvolutionCase(channels: 16, height: 14, width: 14, outputChannels: 20, padding: (1, 1)),
        ConvolutionCase(batch: 3, channels: 6, height: 5, width: 7, outputChannels: 9, padding: (1, 1)),
        // Wide horizontal stride and padding: the strided gather's valid column range at both edges.
        ConvolutionCase(channels: 2, height: 10, width: 14, outputChannels: 3, kernel: (3, 5), stride: (1, 3), padding: (1, 4),
                        dilation: (1, 2)),
        // Winograd's edges: nine tiles across (a second group of eight, mostly past the row) and
        // a partial last tile both ways; no padding; padding 2 and unequal paddings.
        ConvolutionCase(batch: 2, channels: 7, height: 37, width: 35, outputChannels: 9, padding: (1, 1)),
        ConvolutionCase(channels: 5, height: 13, width: 12, outputChannels: 6, bias: false),
        ConvolutionCase(channels: 3, height: 6, width: 9, outputChannels: 4, padding: (2, 2)),
        ConvolutionCase(batch: 3, channels: 4, height: 10, width: 11, outputChannels: 3, padding: (2, 1)),
    ]

    /// Every path that can compute a layer agrees with the naive convolution, with every GEMM
    /// kernel this CPU has (their tile sizes shape the packing), on 1 and 2 threads.
    @Test(arguments: layers)
    func everyPathMatchesNaive(layer: ConvolutionCase) {
        let paths = ConvolutionPath.allCases.filter { $0.supports(layer.geometry) }
        #expect(paths.contains(.implicitGEMM))
        for path in paths {
            for kernel in GEMMKernel.available {
                for (pool, activation) in [(serialPool, FusedActivation.none), (twoThreadPool, .relu), (twoThreadPool, .silu)] {
                    let error = convolutionError(layer, path: path, kernel: kernel, pool: pool, activation: activation)
                    #expect(error < 1e-5, "path \(path), kernel \(kernel), \(pool.threadCount) threads, \(activation): error \(error)")
                }
            }
        }
    }

    /// Winograd's transforms lose about a digit against the direct sum; at ResNet's depths
    /// (K = 9·512) the error stays within the tolerance every other path meets.
    @Test(arguments: [ConvolutionCase(channels: 512, height: 7, width: 7, outputChannels: 12, padding: (1, 1)),
                      ConvolutionCase(batch: 2, channels: 64, height: 30, width: 29, outputChannels: 8, padding: (1, 1))])
    func winogradIsAccurateAtDepth(layer: ConvolutionCase) {
        for activation in [FusedActivation.none, .relu, .silu] {
            let error = convolutionError(layer, path: .winograd, kernel: .preferred, pool: twoThreadPool, activation: activation)
            #expect(error < 1e-5, "\(activation): error \(error)")
        }
    }

    /// The path `conv2d` chooses by itself, with every GEMM kernel.
    @Test(arguments: GEMMKernel.available, [layers[0], layers[1], layers[2], layers[9]])
    func chosenPathMatchesNaive(kernel: GEMMKernel, layer: ConvolutionCase) {
        let error = convolutionError(layer, path: nil, kernel: kernel, pool: twoThreadPool, activation: .relu)
        #expect(error < 1e-5, "error \(error)")
    }

    @Test func choosesTheExpectedPath() {
        func path(_ layer: ConvolutionCase) -> ConvolutionPath {
            let g = layer.geometry
            let weight = PackedMatrix(convolutionWeight: Tensor(zeros: [g.outputChannels, g.inputChannelsPerGroup, g.kernelHeight, g.kernelWidth]))
            return ConvolutionPath.choose(g, weight: weight, weightIsTransient: false, kernel: .preferred, threads: 1)
        }
        #expect(path(ConvolutionCase(channels: 32, height: 20, width: 20, outputChannels: 32, padding: (1, 1), groups: 32)) == .depthwise)
        #expect(path(ConvolutionCase(channels: 64, height: 56, width: 56, outputChannels: 256, kernel: (1, 1))) == .pointwise)
        #expect(path(ConvolutionCase(channels: 64, height: 56, width: 56, outputChannels: 64, padding: (1, 1))) == .winograd)
        #expect(path(ConvolutionCase(channels: 128, height: 28, width: 28, outputChannels: 128, padding: (1, 1))) == .winograd)
        #expect(path(ConvolutionCase(channels: 64, height: 56, width: 56, outputChannels: 64, stride: (2, 2), padding: (1, 1))) != .winograd)
        #expect(path(ConvolutionCase(channels: 64, height: 56, width: 56, outputChannels: 64, stride: (2, 2), padding: (1, 1), groups: 2)) == .implicitGEMM)
        #expect(path(ConvolutionCase(channels: 512, height: 7, width: 7, outputChannels: 512, padding: (1, 1))) == .swappedGEMM)
    }

    @Test func tensorConvolutionMatchesNaive() {
        let layer = ConvolutionCase(batch: 2, channels: 6, height: 9, width: 8, outputChannels: 4, stride: (2, 1), padding: (1, 2), groups: 2)
        let g = layer.geometry
        let input = randomTensor([2, 6, 9, 8], seed: 5), weight = randomTensor([4, 3, 3, 3], seed: 6), bias = randomTensor([4], seed: 7)
        var expected = Tensor(zeros: [2, 4, g.outputHeight, g.outputWidth])
        input.withFloats { x in
            weight.withFloats { w in
                bias.withFloats { b in
                    expected.withMutableFloats { out in
                        conv2dNaive(input: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, output: out.baseAddress!, geometry: g)
                    }
                }
            }
        }
        let plain = Tensor.conv2d(input, weight: weight, bias: bias, stride: (2, 1), padding: (1, 2), groups: 2)
        #expect(isClose(plain, expected, tolerance: 1e-5), "\(String(describing: difference(plain, expected)))")
        let packed = PackedMatrix(convolutionWeight: weight)
        let fused = Tensor.conv2d(input, packedWeight: packed, bias: bias, stride: (2, 1), padding: (1, 2), groups: 2, relu: true)
        let rectified = Tensor(shape: expected.shape, scalars: expected.toArray().map { max($0, 0) })
        #expect(isClose(fused, rectified, tolerance: 1e-5), "\(String(describing: difference(fused, rectified)))")
        // SiLU in the epilogue gives exactly the unfused activation of the same convolution.
        let unfused = Tensor.conv2d(input, packedWeight: packed, bias: bias, stride: (2, 1), padding: (1, 2), groups: 2).silu()
        let siluFused = Tensor.conv2dSiLU(input, packedWeight: packed, bias: bias, stride: (2, 1), padding: (1, 2), groups: 2)
        #expect(siluFused.toArray() == unfused.toArray())
    }

    @Test func implicitPanelsMatchMaterializedColumns() {
        // Panels packed straight from the image equal the same panels cut from the im2col matrix.
        let g = ConvolutionCase(channels: 3, height: 9, width: 11, outputChannels: 2, stride: (2, 1), padding: (1, 2), dilation: (1, 2)).geometry
        let input = randomTensor([1, 3, 9, 11], seed: 9).toArray()
        let depth = 27, pixels = g.outputHeight * g.outputWidth, width = 16
        let panelCount = (pixels + width - 1) / width
        var columns = [Float](repeating: 0, count: depth * pixels)
        var panels = [Float](repeating: .nan, count: panelCount * 5 * width)
        im2col(input: input, columns: &columns, geometry: g, channelOffset: 0)
        packConvolutionPanels(image: input, geometry: g, panels: 0..<panelCount, depth: 7..<12, panelWidth: width,
                              destination: &panels, panelStride: 5 * width)
        for panel in 0..<panelCount {
            for p in 7..<12 {
                for x in 0..<width {
                    let pixel = panel * width + x
                    let expected = pixel < pixels ? columns[p * pixels + pixel] : 0
                    #expect(panels[panel * 5 * width + (p - 7) * width + x] == expected)
                }
            }
        }
    }
}
