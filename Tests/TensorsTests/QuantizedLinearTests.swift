import Testing
@testable import Tensors
import TestSupport

private let twoThreadPool = ThreadPool(threadCount: 2)

/// M rows, K depth, N output channels: tails past the 6-row tile, the k pair and quad, the 8- and
/// 16-channel panels, the 4-panel tile and the 8-panel blocks in every dimension.
private let shapes: [(m: Int, k: Int, n: Int)] = [
    (1, 1, 1), (5, 3, 7), (7, 17, 9), (13, 33, 17), (6, 64, 16), (49, 101, 70), (2, 385, 129),
    (11, 258, 200), (3, 7, 67), (50, 131, 257),
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

    /// Rows with outlier features (`ActivationOutliers`): none, one, three, more than the limit,
    /// two of equal magnitude, negative ones, and a row that is only outliers; K with tails past the
    /// pair and the 64 features below which no feature can pass.
    @Test(arguments: QuantizedKernel.available)
    func outlierRowsMatchTheNaiveTwinExactly(kernel: QuantizedKernel) {
        for (index, shape) in [(m: 7, k: 129, n: 9), (m: 13, k: 385, n: 70), (m: 8, k: 1537, n: 17), (m: 5, k: 63, n: 11)].enumerated() {
            let seed = UInt64(index) * 10 + 100
            var values = (randomTensor([shape.m, shape.k], seed: seed) * 0.5).toArray()
            let spikes: [[(Int, Float)]] = [[], [(3, 40)], [(0, -25), (shape.k / 2, 30), (shape.k - 1, 18)],
                                            (0..<6).map { ($0 * 11 + 1, Float(20 + $0)) }, [(5, 30), (9, -30)], [(shape.k - 2, -60)]]
            for (row, list) in spikes.enumerated() where row < shape.m {
                for (feature, value) in list { values[row * shape.k + feature] = value }
            }
            if shape.m > 6 { for k in 0..<shape.k { values[6 * shape.k + k] = k == 7 ? 9 : 0 } }
            let x = Tensor(shape: [shape.m, shape.k], scalars: values)
            let weight = randomTensor([shape.n, shape.k], seed: seed + 2) * 0.2
            let bias = randomTensor([shape.n], seed: seed + 3)
            let residual = randomTensor([shape.m, shape.n], seed: seed + 4)
            let quantized = QuantizedMatrix(weight)
            for (withBias, relu, withResidual) in [(false, false, false), (true, true, false), (true, false, true), (false, true, true)] {
                let actual = Tensor.linear(x, quantizedWeight: quantized, bias: withBias ? bias : nil, relu: relu,
                                           adding: withResidual ? residual : nil, kernel: kernel, pool: twoThreadPool)
                let expected = Reference.quantizedLinear(x, weight: weight, bias: withBias ? bias : nil, relu: relu,
                                                         adding: withResidual ? residual : nil)
                #expect(actual.toArray() == expected.toArray(), "\(kernel) \(shape) bias \(withBias) relu \(relu) residual \(withResidual)")
            }
        }
    }

    @Test func outlierSelectionFollowsTheRule() {
        func row(_ depth: Int, _ spikes: [(Int, Float)]) -> [Float] {
            var values = (0..<depth).map { Float(($0 * 7) % 11) / 11 - 0.5 }
            for (feature, value) in spikes { values[feature] = value }
            return values
        }
        // One dominant feature is taken out; a row without one keeps everything.
        #expect(Reference.activationOutliers(row(384, [(99, 8)])).map(\.feature) == [99])
        #expect(Reference.activationOutliers(row(384, [])).isEmpty)
        // At most `limit`, the largest magnitudes, reported in increasing feature order; ties go to the lower feature.
        let many = Reference.activationOutliers(row(1536, [(900, 30), (10, -31), (500, 29), (20, 28), (30, 28), (40, 27)]))
        #expect(many.map(\.feature) == [10, 20, 500, 900] && many.map(\.value) == [-31, 28, 29, 30])
        // Up to 64 features even a one-hot row passes no threshold (q² · K ≤ 64 · Σq²).
        #expect(Reference.activationOutliers(row(64, [(3, 100)])).isEmpty)
        #expect(Reference.activationOutliers(row(65, [(3, 100)])).map(\.feature) == [3])
        #expect(Reference.activationOutliers([Float](repeating: 0, count: 200)).isEmpty)
    }

    /// The kernels scan for |q| ≥ t; t must be exactly the least value passing q² · K > α² · Σq².
    @Test func smallestCandidateIsExact() {
        for depth in [1, 63, 64, 65, 129, 384, 1536, 3072] {
            for sumOfSquares in [1, 2, 63, 64, 250, 16_129, 16_130, 100_000, 16_129 * depth] {
                let t = ActivationOutliers.smallestCandidate(sumOfSquares: sumOfSquares, depth: depth)
                var brute = 0
                while brute * brute * depth <= ActivationOutliers.thresholdSquared * sumOfSquares { brute += 1 }
                #expect(t == brute, "K \(depth) Σq² \(sumOfSquares)")
            }
        }
    }

    /// What the outliers are for: a [CLS]-like row, one feature holding nearly all its energy, keeps
    /// the resolution of the others. Symmetric int8 of the whole row would leave them with a step of
    /// 30/127 = 0.24 against values of at most 0.5.
    @Test func aDominantFeatureKeepsTheRestResolved() {
        var values = (randomTensor([4, 384], seed: 21) * 0.5).toArray()
        for i in 0..<4 { values[i * 384 + 99] = 30 }
        let x = Tensor(shape: [4, 384], scalars: values), weight = randomTensor([64, 384], seed: 22) * 0.05
        let exact = Tensor.linear(x, weight: weight, bias: nil).toArray()
        let int8 = Tensor.linear(x, quantizedWeight: QuantizedMatrix(weight), bias: nil).toArray()
        let error = zip(int8, exact).map { abs($0 - $1) }.max()!, largest = exact.map(abs).max()!
        #expect(error <= 0.01 * largest, "max |Δ| \(error) against max |y| \(largest)")
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
