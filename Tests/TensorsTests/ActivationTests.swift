import Foundation
import Testing
import Tensors
import TestSupport

/// Activations: the vectorized kernels against the Foundation-based `Reference` twins, plus
/// values PyTorch gives.
@Suite struct ActivationTests {
    static let shapes: [[Int]] = [[1], [7], [16], [31], [3, 17], [2, 3, 5, 7], [129, 67], [300, 130]]

    @Test(arguments: shapes)
    func activationsMatchReference(_ shape: [Int]) {
        let x = random(shape, seed: 11, scale: 6)
        #expect(identical(x.relu(), Reference.relu(x)))
        expectClose(x.gelu(), Reference.gelu(x), tolerance: 1e-6)
        expectClose(x.gelu(approximation: .tanh), Reference.gelu(x, approximation: .tanh), tolerance: 1e-6)
        expectClose(x.sigmoid(), Reference.sigmoid(x), tolerance: 1e-6)
        expectClose(x.silu(), Reference.silu(x), tolerance: 1e-6)
        expectClose(x.tanh(), Reference.tanh(x), tolerance: 1e-6)
        expectClose(x.exp(), Reference.exp(x), tolerance: 1e-6)
        let positive = x * x
        #expect(identical(positive.sqrt(), Reference.sqrt(positive)))
    }

    @Test func geluValuesMatchPyTorch() {
        // torch.nn.functional.gelu(x) and gelu(x, approximate='tanh').
        let x = Tensor(shape: [7], scalars: [-3, -1, -0.5, 0, 0.5, 1, 3])
        let erfForm: [Float] = [-0.004050225019454956, -0.15865525603294373, -0.1542687714099884, 0.0,
                                0.3457312285900116, 0.8413447141647339, 2.9959497451782227]
        let tanhForm: [Float] = [-0.0036374330520629883, -0.15880799293518066, -0.1542859971523285, 0.0,
                                 0.3457140028476715, 0.8411920070648193, 2.9963626861572266]
        expectClose(x.gelu(), Tensor(shape: [7], scalars: erfForm), tolerance: 3e-7)
        expectClose(x.gelu(approximation: .tanh), Tensor(shape: [7], scalars: tanhForm), tolerance: 3e-7)
        // The two forms differ: the test can tell them apart.
        #expect(abs(x.gelu().toArray()[0] - x.gelu(approximation: .tanh).toArray()[0]) > 1e-4)
    }

    @Test func reluKeepsNaNAndNegativeZeroAsPyTorch() {
        let y = Tensor(shape: [4], scalars: [.nan, -0.0, -2, 3]).relu().toArray()
        #expect(y[0].isNaN)
        #expect(y[1] == 0 && y[1].sign == .minus)
        #expect(y[2] == 0 && y[3] == 3)
    }

    @Test(arguments: [[1, 1], [5, 16], [3, 7, 37], [130, 384]])
    func biasGELUMatchesReference(_ shape: [Int]) {
        let x = random(shape, seed: 12, scale: 4), bias = random([shape.last!], seed: 13)
        for approximation in [GELUApproximation.none, .tanh] {
            expectClose(x.gelu(addingBias: bias, approximation: approximation),
                        Reference.geluAddingBias(x, bias: bias, approximation: approximation), tolerance: 1e-6)
        }
    }

    @Test func biasGELUGradientMatchesComposedOps() {
        let x = leaf(random([4, 9], seed: 14, scale: 3)), bias = leaf(random([9], seed: 15))
        let seed = random([4, 9], seed: 16)
        let fused = gradients(of: x.gelu(addingBias: bias), seed: seed, withRespectTo: [x, bias])
        let composed = gradients(of: (x + bias).gelu(), seed: seed, withRespectTo: [x, bias])
        expectClose(fused[0], composed[0])
        expectClose(fused[1], composed[1])
    }
}
