import Testing
import Tensors
import TestSupport

/// Max, average and adaptive average pooling: separable kernels against the window-by-window
/// `Reference`, and values PyTorch gives for padding, ceil_mode and uneven adaptive windows.
@Suite struct PoolingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), ceil: Bool
        var testDescription: String { "\(shape) k\(kernel) s\(stride) p\(padding) d\(dilation) ceil \(ceil)" }
    }

    static let cases: [Case] = [
        Case(shape: [1, 1, 1, 1], kernel: (1, 1), stride: (1, 1), padding: (0, 0), dilation: (1, 1), ceil: false),
        Case(shape: [1, 16, 112, 112], kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1), ceil: false),  // ResNet stem
        Case(shape: [2, 3, 7, 9], kernel: (2, 2), stride: (2, 2), padding: (0, 0), dilation: (1, 1), ceil: true),
        Case(shape: [2, 3, 7, 9], kernel: (3, 2), stride: (2, 1), padding: (1, 1), dilation: (1, 1), ceil: true),
        Case(shape: [1, 2, 13, 17], kernel: (3, 3), stride: (1, 2), padding: (1, 0), dilation: (2, 1), ceil: false),
        Case(shape: [1, 2, 11, 37], kernel: (5, 5), stride: (3, 3), padding: (2, 2), dilation: (1, 1), ceil: true),
        Case(shape: [3, 17, 5, 33], kernel: (5, 3), stride: (5, 3), padding: (0, 1), dilation: (1, 1), ceil: false),
        // Wide rows: the 16-wide horizontal pass for strides 1 and 2, with dilation and ragged edges.
        Case(shape: [1, 2, 9, 40], kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (1, 1), ceil: false),
        Case(shape: [2, 2, 8, 64], kernel: (2, 2), stride: (2, 2), padding: (0, 0), dilation: (1, 1), ceil: false),
        Case(shape: [1, 1, 5, 71], kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1), ceil: true),
        Case(shape: [1, 1, 7, 53], kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (1, 2), ceil: false),
    ]

    @Test(arguments: cases)
    func maxPoolMatchesReference(_ c: Case) {
        let x = random(c.shape, seed: 111)
        #expect(identical(x.maxPool2d(kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceil),
                          Reference.maxPool2d(x, kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceil)))
    }

    @Test(arguments: cases.filter { $0.dilation == (1, 1) })
    func avgPoolMatchesReference(_ c: Case) {
        let x = random(c.shape, seed: 112)
        for countIncludePad in [true, false] {
            expectClose(x.avgPool2d(kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceil,
                                    countIncludePad: countIncludePad),
                        Reference.avgPool2d(x, kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceil,
                                            countIncludePad: countIncludePad), tolerance: 1e-6)
        }
    }

    @Test(arguments: [([1, 1, 7, 7], (3, 3)), ([2, 3, 5, 7], (2, 3)), ([1, 4, 56, 56], (1, 1)), ([1, 2, 7, 7], (7, 7)),
                      ([1, 1, 3, 4], (5, 6)), ([2, 64, 7, 7], (1, 1)),
                      ([1, 2, 4, 64], (2, 32)), ([1, 2, 4, 40], (1, 40))])
    func adaptiveAvgPoolMatchesReference(_ c: ([Int], (Int, Int))) {
        let x = random(c.0, seed: 113)
        expectClose(x.adaptiveAvgPool2d(outputSize: c.1), Reference.adaptiveAvgPool2d(x, outputSize: c.1), tolerance: 1e-6)
    }

    // MARK: - Values from PyTorch

    /// x = (arange(25) · 7 mod 11).reshape(1, 1, 5, 5)
    static let x = Tensor(shape: [1, 1, 5, 5], scalars: (0..<25).map { Float($0 * 7 % 11) })

    @Test func maxPoolWithPaddingCeilModeAndDilationMatchesPyTorch() {
        #expect(Self.x.maxPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true).toArray()
                == [9, 10, 10, 9, 9, 10, 8, 9, 7])
        #expect(Self.x.maxPool2d(kernelSize: (2, 2), stride: (2, 2), ceilMode: true).toArray()
                == [9, 10, 8, 6, 9, 10, 8, 7, 3])
        #expect(Self.x.maxPool2d(kernelSize: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (2, 2)).toArray()
                == [9, 9, 9, 10, 10, 10, 9, 9, 9])
    }

    @Test func avgPoolCountIncludePadAndCeilModeMatchPyTorch() {
        let included = Self.x.avgPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true, countIncludePad: true)
        expectClose(included, Tensor(shape: [1, 1, 3, 3], scalars: [2.0, 3.8888888359069824, 2.777777671813965, 2.555555582046509,
                                                                    4.55555534362793, 3.1111111640930176, 2.222222328186035, 3.0,
                                                                    1.7777777910232544]), tolerance: 1e-6)
        let excluded = Self.x.avgPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true, countIncludePad: false)
        expectClose(excluded, Tensor(shape: [1, 1, 3, 3], scalars: [4.5, 5.833333492279053, 6.25, 3.8333332538604736,
                                                                    4.55555534362793, 4.666666507720947, 5.0, 4.5, 4.0]), tolerance: 1e-6)
        // Ceil mode without padding: the partial last windows divide by their real size.
        expectClose(Self.x.avgPool2d(kernelSize: (2, 2), stride: (2, 2), ceilMode: true),
                    Tensor(shape: [1, 1, 3, 3], scalars: [4.5, 4.75, 7.0, 3.0, 6.0, 5.5, 6.0, 3.5, 3.0]), tolerance: 1e-6)
    }

    @Test func adaptiveWindowsForNonDivisibleSizesMatchPyTorch() {
        // 7 → 3: windows [0, 3), [2, 5), [4, 7) overlap.
        let x7 = Tensor(shape: [1, 1, 7, 7], scalars: (0..<49).map { Float($0) })
        #expect(x7.adaptiveAvgPool2d(outputSize: (3, 3)).toArray() == [8, 10, 12, 22, 24, 26, 36, 38, 40])
        let x57 = Tensor(shape: [1, 1, 5, 7], scalars: (0..<35).map { Float($0) })
        #expect(x57.adaptiveAvgPool2d(outputSize: (2, 3)).toArray() == [8, 10, 12, 22, 24, 26])
    }

    @Test func maxPoolPropagatesNaN() {
        var values = [Float](repeating: 0, count: 36)
        values[14] = .nan
        let y = Tensor(shape: [1, 1, 6, 6], scalars: values).maxPool2d(kernelSize: (2, 2)).toArray()
        #expect(y[4].isNaN)
        #expect(y.filter { $0.isNaN }.count == 1)
        // Through the vector paths too (stride 1 and 2 over wide rows).
        var wide = random([1, 1, 6, 70], seed: 114).toArray()
        wide[2 * 70 + 33] = .nan
        let x = Tensor(shape: [1, 1, 6, 70], scalars: wide)
        for stride in [1, 2] {
            let fast = x.maxPool2d(kernelSize: (3, 3), stride: (stride, stride), padding: (1, 1))
            #expect(identical(fast, Reference.maxPool2d(x, kernelSize: (3, 3), stride: (stride, stride), padding: (1, 1))))
            #expect(fast.toArray().contains { $0.isNaN })
        }
    }

    @Test func gradientsFlowToTheWindows() {
        let x = leaf(Self.x)
        let seed = Tensor(shape: [1, 1, 3, 3], repeating: 1)
        let maxGradient = gradients(of: x.maxPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true),
                                    seed: seed, withRespectTo: [x])[0]!
        // The gradient sums to the number of outputs, on maxima only.
        #expect(maxGradient.sum().scalarValue == 9)
        let avgGradient = gradients(of: x.adaptiveAvgPool2d(outputSize: (1, 1)), seed: Tensor(shape: [1, 1, 1, 1], repeating: 1),
                                    withRespectTo: [x])[0]!
        expectClose(avgGradient, Tensor(shape: [1, 1, 5, 5], repeating: 1 / 25))
    }
}
