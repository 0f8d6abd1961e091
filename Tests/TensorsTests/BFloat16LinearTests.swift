import Testing
@testable import Tensors
import TestSupport

private let twoThreadPool = ThreadPool(threadCount: 2)

/// M rows, K depth, N output channels: tails past the 6-row tile, the k pair, the 16-channel panel,
/// the 4-panel tile and the panel block (few rows split N into blocks of 4 panels) in every dimension.
private let shapes: [(m: Int, k: Int, n: Int)] = [
    (1, 1, 1), (5, 3, 7), (7, 17, 9), (13, 33, 17), (6, 64, 64), (49, 101, 70), (2, 385, 129), (25, 767, 200), (97, 384, 1152),
]

/// The kernel runs only where the CPU has `vdpbf16ps`: these tests are skipped (and reported so) by
/// checking the CPU's features, never passed without running.
@Suite(.enabled(if: BFloat16GEMM.isAvailable, "needs AVX512_BF16 and AVX-512 F/BW/VL/DQ (checked in /proc/cpuinfo)"))
struct BFloat16LinearTests {
    /// Every bias / ReLU / residual combination equals the naive twin bit for bit: the products of
    /// bf16 values are exact in float32, and the twin adds them in `vdpbf16ps`'s order.
    @Test func kernelMatchesItsNaiveTwinExactly() {
        for (index, shape) in shapes.enumerated() {
            let seed = UInt64(index) * 10 + 500
            let x = randomTensor([shape.m, shape.k], seed: seed + 1) * 3
            let weight = randomTensor([shape.n, shape.k], seed: seed + 2) * 0.2
            let bias = randomTensor([shape.n], seed: seed + 3)
            let residual = randomTensor([shape.m, shape.n], seed: seed + 4)
            let converted = BFloat16Matrix(weight)
            for (withBias, relu, withResidual) in [(false, false, false), (true, false, false), (true, true, false), (true, false, true), (false, true, true)] {
                let actual = Tensor.linear(x, bfloat16Weight: converted, bias: withBias ? bias : nil, relu: relu,
                                           adding: withResidual ? residual : nil, pool: twoThreadPool)
                let expected = Reference.bfloat16Linear(x, weight: weight, bias: withBias ? bias : nil, relu: relu,
                                                        adding: withResidual ? residual : nil)
                #expect(actual.shape == expected.shape)
                #expect(actual.toArray() == expected.toArray(), "\(shape) bias \(withBias) relu \(relu) residual \(withResidual)")
            }
        }
    }

    /// One thread and a batched input [B, L, K] give the same values as two threads on [B·L, K].
    @Test func threadsAndLeadingAxesDoNotChangeTheValues() {
        let x = randomTensor([3, 41, 96], seed: 21), weight = randomTensor([80, 96], seed: 22) * 0.3, bias = randomTensor([80], seed: 23)
        let converted = BFloat16Matrix(weight)
        let batched = Tensor.linear(x, bfloat16Weight: converted, bias: bias, pool: ThreadPool(threadCount: 1))
        let flat = Tensor.linear(x.reshaped([123, 96]), bfloat16Weight: converted, bias: bias, pool: twoThreadPool)
        #expect(batched.shape == [3, 41, 80])
        #expect(batched.toArray() == flat.toArray())
    }

    /// Against float32 the error is that of rounding x and W to 8 significant bits: per product at
    /// most 2·2⁻⁹·|x·w| (+ 2⁻¹⁸), so |Δ| ≤ 2⁻⁸·Σ|x_k·w_k| plus float32 summation noise.
    @Test func errorAgainstFloat32IsBoundedByTheRounding() {
        let x = randomTensor([37, 300], seed: 31), weight = randomTensor([45, 300], seed: 32)
        let actual = Tensor.linear(x, bfloat16Weight: BFloat16Matrix(weight), bias: nil, pool: twoThreadPool).toArray()
        let xs = x.toArray(), ws = weight.toArray()
        for i in 0..<37 {
            for j in 0..<45 {
                var exact: Double = 0, magnitude: Double = 0
                for k in 0..<300 {
                    exact += Double(xs[i * 300 + k]) * Double(ws[j * 300 + k])
                    magnitude += abs(Double(xs[i * 300 + k]) * Double(ws[j * 300 + k]))
                }
                #expect(abs(Double(actual[i * 45 + j]) - exact) <= magnitude * (1.0 / 256 + 1e-6), "row \(i) channel \(j)")
            }
        }
    }

    /// The conversion is `vcvtneps2bf16`'s, and the naive twin's: nearest even on ties, NaN stays NaN
    /// (quiet, sign and top payload kept), ±inf stays, overflow rounds to ±inf, denormals flush to ±0.
    @Test func conversionRoundsSpecialValuesLikeTheTwin() {
        let cases: [(bits: UInt32, expected: UInt16)] = [
            (0x3F80_0000, 0x3F80), // 1
            (0x3F80_8000, 0x3F80), // 1 + 2⁻⁸: a tie, to the even 1
            (0x3F81_8000, 0x3F82), // 1 + 3·2⁻⁸: a tie, to the even 1 + 2⁻⁶
            (0x3F80_8001, 0x3F81), // just past the tie: up
            (0x3F80_7FFF, 0x3F80), // just below: down
            (0xBF81_8000, 0xBF82), // negative tie
            (0x7F80_0000, 0x7F80), (0xFF80_0000, 0xFF80), // ±inf
            (0x7F7F_FFFF, 0x7F80), (0xFF7F_FFFF, 0xFF80), // ±largest finite: rounds to ±inf
            (0x7FC0_0000, 0x7FC0), (0xFFC0_0000, 0xFFC0), // quiet NaNs
            (0x7F80_0001, 0x7FC0), (0xFF81_0000, 0xFFC1), // signaling NaNs: quieted, top payload kept
            (0x0000_0000, 0x0000), (0x8000_0000, 0x8000), // ±0
            (0x0000_0001, 0x0000), (0x807F_FFFF, 0x8000), // denormals: flushed, sign kept
            (0x0080_0000, 0x0080), // the smallest normal stays
        ]
        for (bits, expected) in cases {
            #expect(Reference.bfloat16Bits(Float(bitPattern: bits)) == expected, "twin \(String(bits, radix: 16))")
        }
        // 21 values: a 16-lane vector and a masked tail of 5.
        let values = cases.map { Float(bitPattern: $0.bits) }
        #expect(BFloat16GEMM.convert(values) == cases.map(\.expected))
        let random = randomTensor([1000], seed: 41).toArray().map { $0 * 1e3 }
        #expect(BFloat16GEMM.convert(random) == random.map(Reference.bfloat16Bits))
    }

    /// NaN and ±inf in the input reach the outputs they touch, as in float32 (not hidden by ReLU's
    /// max: a NaN row becomes 0 under ReLU, like the twin's `v > 0 ? v : 0`).
    @Test func specialInputsPropagateLikeTheTwin() {
        var values = randomTensor([7, 20], seed: 51).toArray()
        values[0 * 20 + 3] = .nan
        values[2 * 20 + 19] = .infinity
        values[4 * 20 + 0] = -.infinity
        let x = Tensor(shape: [7, 20], scalars: values), weight = randomTensor([18, 20], seed: 52), bias = randomTensor([18], seed: 53)
        for relu in [false, true] {
            let actual = Tensor.linear(x, bfloat16Weight: BFloat16Matrix(weight), bias: bias, relu: relu, pool: twoThreadPool).toArray()
            let expected = Reference.bfloat16Linear(x, weight: weight, bias: bias, relu: relu).toArray()
            #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern) || zip(actual, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) },
                    "relu \(relu)")
        }
    }

    /// The task split covers every row and panel once, at least 4 tasks per thread where the shape allows.
    @Test func blockingCoversTheProblem() {
        for (rows, pairs, panels) in [(1, 1, 1), (128, 192, 24), (1024, 192, 72), (1576, 1536, 48), (2, 193, 9)] {
            let blocking = BFloat16Blocking(rows: rows, pairs: pairs, panels: panels, threads: 2, level2Bytes: 1 << 20)
            #expect(blocking.rowBlock % 6 == 0 && blocking.panelBlock % 4 == 0)
            #expect(blocking.rowBlocks * blocking.rowBlock >= rows && (blocking.rowBlocks - 1) * blocking.rowBlock < rows)
            #expect(blocking.panelBlocks * blocking.panelBlock >= panels && (blocking.panelBlocks - 1) * blocking.panelBlock < panels)
            #expect(64 * pairs * blocking.panelBlock <= 1 << 19 || blocking.panelBlock == 4)
        }
        #expect(BFloat16Blocking(rows: 128, pairs: 192, panels: 24, threads: 2, level2Bytes: 1 << 20).rowBlocks
                * BFloat16Blocking(rows: 128, pairs: 192, panels: 24, threads: 2, level2Bytes: 1 << 20).panelBlocks >= 6)
    }
}
