import Testing
@testable import Tensors
import TestSupport

private let twoThreadPool = ThreadPool(threadCount: 2)

/// M rows, K depth, N output channels: tails past the 6-row tile, the k pair, the 8-channel panel
/// and the 8-panel block in every dimension.
private let shapes: [(m: Int, k: Int, n: Int)] = [
    (1, 1, 1), (5, 3, 7), (7, 17, 9), (13, 33, 17), (6, 64, 16), (49, 101, 70), (2, 385, 129),
]

@Suite struct QuantizedLinearTests {
    @Test(arguments: QuantizedKernel.available)
    func everyKernelMatchesItsNaiveTwinExactly(kernel: QuantizedKernel) {
        for (index, shape) in shapes.enumerated() {
            let seed = UInt64(index) * 10
            let x = randomTensor([shape.m, shape.k], seed: seed + 1) * 3
            let weight = randomTensor([shape.n, shape.k], seed: seed + 2) * 0.2
            let bias = randomTensor([shape.n], seed: seed + 3)
            let residual = randomTensor([shape.m, shape.n], seed: seed + 4)
            let quantized = QuantizedMatrix(weight)
            for (withBias, relu, withResidual) in [(false, false, false), (true, false, false), (true, true, false), (true, false, true), (false, true, true)] {
                let actual = Tensor.linear(x, quantizedWeight: quantized, bias: withBias ? bias : nil, relu: relu,
                                           adding: withResidual ? residual : nil, kernel: kernel, pool: twoThreadPool)
                let expected = Reference.quantizedLinear(x, weight: weight, bias: withBias ? bias : nil, relu: relu,
                                                         adding: withResidual ? residual : nil)
                #expect(actual.shape == expected.shape)
                #expect(actual.toArray() == expected.toArray(), "\(kernel) \(shape) bias \(withBias) relu \(relu) residual \(withResidual)")
            }
        }
    }

    @Test(arguments: QuantizedKernel.available)
    func batchedInputKeepsItsLeadingAxes(kernel: QuantizedKernel) {
        let x = randomTensor([2, 3, 5, 19], seed: 7)
        let weight = randomTensor([11, 19], seed: 8)
        let actual = Tensor.linear(x, quantizedWeight: QuantizedMatrix(weight), bias: nil, kernel: kernel)
        #expect(actual.shape == [2, 3, 5, 11])
        #expect(actual.toArray() == Reference.quantizedLinear(x, weight: weight, bias: nil).toArray())
    }

    /// With integer values and a 127 in every row both scales are 1, so the result is the exact
    /// integer product: int32 sums, no int16 saturation (pairs of 127·127 reach 32 258), no rounding.
    @Test(arguments: QuantizedKernel.available)
    func integerProductsAreExact(kernel: QuantizedKernel) {
        let (m, k, n) = (7, 999, 13)
        var generator = SeededGenerator(seed: 5)
        func integers(_ count: Int) -> [Float] { (0..<count).map { $0 % 5 == 0 ? 127 : Float(Int.random(in: -127...127, using: &generator)) } }
        let xs = integers(m * k), ws = integers(n * k)
        let actual = Tensor.linear(Tensor(shape: [m, k], scalars: xs), quantizedWeight: QuantizedMatrix(Tensor(shape: [n, k], scalars: ws)),
                                   bias: nil, kernel: kernel, pool: twoThreadPool).toArray()
        for i in 0..<m {
            for j in 0..<n {
                let exact = (0..<k).reduce(0) { $0 + Int(xs[i * k + $1]) * Int(ws[j * k + $1]) }
                #expect(actual[i * n + j] == Float(exact))
            }
        }
    }

    @Test func weightQuantizationIsWithinHalfAStep() {
        let weight = randomTensor([9, 31], seed: 11)
        let quantized = QuantizedMatrix(weight)
        let w = weight.toArray()
        for r in 0..<9 {
            let row = w[r * 31..<(r + 1) * 31]
            #expect(quantized.scales[r] == row.map(abs).max()! / 127)
            #expect(quantized.values[r * 31..<(r + 1) * 31].map { abs(Int($0)) }.max() == 127)
            for c in 0..<31 {
                let error = abs(Float(quantized.values[r * 31 + c]) * quantized.scales[r] - w[r * 31 + c])
                #expect(error <= quantized.scales[r] * 0.5 * 1.0001)
            }
        }
    }

    @Test(arguments: QuantizedKernel.available)
    func zeroRowsGiveTheBias(kernel: QuantizedKernel) {
        let bias = randomTensor([10], seed: 12)
        let out = Tensor.linear(Tensor(zeros: [3, 20]), quantizedWeight: QuantizedMatrix(randomTensor([10, 20], seed: 13)),
                                bias: bias, kernel: kernel)
        #expect(out.toArray() == Array(repeating: bias.toArray(), count: 3).flatMap { $0 })
    }

    /// Not a tautology about rounding: int8 stays close to the float32 product it approximates.
    @Test func staysCloseToFloat32() {
        let x = randomTensor([16, 384], seed: 14), weight = randomTensor([96, 384], seed: 15) * 0.05
        let bias = randomTensor([96], seed: 16)
        let quantized = Tensor.linear(x, quantizedWeight: QuantizedMatrix(weight), bias: bias)
        let exact = Tensor.linear(x, weight: weight, bias: bias)
        #expect(isClose(quantized, exact, tolerance: 2e-2))
        #expect(!isClose(quantized, exact, tolerance: 1e-7))
    }
}
