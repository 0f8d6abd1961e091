import Tensors

extension KernelBenchmark {
    /// EfficientNet-B0's depthwise convolutions at 224²: channels, input size, kernel, stride.
    static let depthwiseLayers: [(channels: Int, size: Int, kernel: Int, stride: Int)] = [
        (32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 5, 2), (240, 28, 5, 1), (240, 28, 3, 2),
        (480, 14, 3, 1), (480, 14, 5, 1), (672, 14, 5, 2), (1152, 7, 5, 1), (1152, 7, 3, 1),
    ]

    /// Depthwise convolution (batch 1, bias and ReLU) on each layer: ms per call and the rate at
    /// which it moves its input and output, the bound such a layer has (a few FMAs per byte).
    func runDepthwise(pools: [Int: ThreadPool]) {
        var generator = SeededGenerator(seed: 7)
        let layers = Self.depthwiseLayers.map { layer in
            let g = Conv2DGeometry(batch: 1, inputChannels: layer.channels, inputHeight: layer.size, inputWidth: layer.size,
                                   outputChannels: layer.channels, kernelSize: (layer.kernel, layer.kernel),
                                   stride: (layer.stride, layer.stride), padding: (layer.kernel / 2, layer.kernel / 2),
                                   groups: layer.channels)
            return (geometry: g,
                    input: Tensor.uniform([1, layer.channels, layer.size, layer.size], in: -1...1, using: &generator),
                    weight: PackedMatrix(convolutionWeight: Tensor.uniform([layer.channels, 1, layer.kernel, layer.kernel], in: -0.3...0.3,
                                                                           using: &generator)),
                    bias: Tensor.uniform([layer.channels], in: -1...1, using: &generator),
                    taps: Tensor.depthwiseTaps(Tensor.uniform([layer.channels, 1, layer.kernel, layer.kernel], in: -0.3...0.3, using: &generator)),
                    output: Tensor(zeros: [1, layer.channels, g.outputHeight, g.outputWidth]))
        }
        var samples: [[Int: [Double]]] = Array(repeating: [:], count: layers.count)
        var channelsLastSamples: [[Int: [Double]]] = Array(repeating: [:], count: layers.count)
        let channelsLastInputs = layers.map { $0.input.channelsLast() }
        for _ in 0..<options.repetitions {
            for (index, layer) in layers.enumerated() {
                for threads in options.threadCounts {
                    let seconds = measureConvolution(input: layer.input, weight: layer.weight, bias: layer.bias, output: layer.output,
                                                     geometry: layer.geometry, path: .depthwise, pool: pools[threads]!)
                    samples[index][threads, default: []].append(seconds)
                    let g = layer.geometry
                    let channelsLast = ThreadPool.withCurrent(pools[threads]!) {
                        measure {
                            _ = Tensor.depthwiseConv2dChannelsLast(
                                channelsLastInputs[index], taps: layer.taps, bias: layer.bias, kernelSize: (g.kernelHeight, g.kernelWidth),
                                stride: (g.strideHeight, g.strideWidth), padding: (g.paddingHeight, g.paddingWidth), dilation: (1, 1),
                                activation: .relu)
                        }
                    }
                    channelsLastSamples[index][threads, default: []].append(channelsLast)
                }
            }
        }
        print("")
        print("depthwise convolution (EfficientNet-B0 layers, batch 1, bias + ReLU): ms per call and GB/s of input + output (medians);")
        print("NCHW (planes) and channels-last (NHWC, output allocated per call)")
        var rows: [[String]] = []
        for (index, layer) in layers.enumerated() {
            let g = layer.geometry
            let bytes = Double(4 * g.inputChannels * (g.inputHeight * g.inputWidth + g.outputHeight * g.outputWidth))
            var row = ["\(g.inputChannels) ch, \(g.inputHeight)², \(g.kernelHeight)×\(g.kernelWidth)/\(g.strideHeight)"]
            for threads in options.threadCounts {
                let seconds = median(samples[index][threads] ?? [])
                row += [format(seconds * 1e3, 3), format(bytes / seconds / 1e9, 1)]
            }
            for threads in options.threadCounts {
                row.append(format(median(channelsLastSamples[index][threads] ?? []) * 1e3, 3))
            }
            rows.append(row)
        }
        printTable(header: ["layer"] + options.threadCounts.flatMap { ["\($0)t ms", "\($0)t GB/s"] }
                   + options.threadCounts.map { "NHWC \($0)t ms" }, rows: rows)
    }
}
