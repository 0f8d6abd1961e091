import Testing
import Tensors
import TestSupport

/// Batch, layer and group norm: one-pass kernels against the two-pass Double `Reference`,
/// values from PyTorch, and backward closures against the composed ops.
@Suite struct NormalizationTests {
    @Test(arguments: [[1, 1], [3, 7], [5, 16], [4, 33], [3, 48], [2, 50], [128, 384], [256, 384], [2, 3, 5, 7]])
    func layerNormMatchesReference(_ shape: [Int]) {
        let x = random(shape, seed: 51, scale: 3) + 0.5
        let normalizedShape = [shape.last!]
        let weight = random(normalizedShape, seed: 52), bias = random(normalizedShape, seed: 53)
        expectClose(Tensor.layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, epsilon: 1e-5),
                    Reference.layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, epsilon: 1e-5))
        expectClose(Tensor.layerNorm(x, normalizedShape: normalizedShape, weight: nil, bias: nil, epsilon: 1e-12),
                    Reference.layerNorm(x, normalizedShape: normalizedShape, weight: nil, bias: nil, epsilon: 1e-12))
    }

    @Test func layerNormOverSeveralTrailingAxes() {
        let x = random([2, 3, 5, 7], seed: 54)
        let weight = random([5, 7], seed: 55)
        expectClose(Tensor.layerNorm(x, normalizedShape: [5, 7], weight: weight, bias: nil, epsilon: 1e-5),
                    Reference.layerNorm(x, normalizedShape: [5, 7], weight: weight, bias: nil, epsilon: 1e-5))
    }

    @Test func layerNormStatisticsSurviveALargeMean() {
        // Shifted Welford: a row at 10⁴ ± 1 keeps its variance (Σx² − (Σx)²/n would lose it in float)
        // and its centering (a float mean of 10⁴ alone is off by up to 5·10⁻⁴).
        let x = random([4, 384], seed: 56) + 10_000
        expectClose(Tensor.layerNorm(x, normalizedShape: [384], weight: nil, bias: nil, epsilon: 1e-5),
                    Reference.layerNorm(x, normalizedShape: [384], weight: nil, bias: nil, epsilon: 1e-5))
    }

    @Test func layerNormValuesMatchPyTorch() {
        // F.layer_norm([[1, 2, 3, 4], [10, 10, 10, 10]], (4,), w = [1, 2, 3, 4], b = [0, 0, 0, 1], eps = 1e-5)
        let x = Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, 10, 10, 10, 10])
        let y = Tensor.layerNorm(x, normalizedShape: [4], weight: Tensor(shape: [4], scalars: [1, 2, 3, 4]),
                                 bias: Tensor(shape: [4], scalars: [0, 0, 0, 1]), epsilon: 1e-5)
        expectClose(y, Tensor(shape: [2, 4], scalars: [-1.3416354656219482, -0.8944236636161804, 1.3416354656219482,
                                                       6.366541862487793, 0, 0, 0, 1]), tolerance: 1e-6)
    }

    @Test(arguments: [([1, 2, 1], 1), ([2, 6, 5, 7], 3), ([3, 32, 9, 9], 8), ([2, 4, 17], 4), ([1, 64, 56, 56], 32)])
    func groupNormMatchesReference(_ c: ([Int], Int)) {
        let x = random(c.0, seed: 57, scale: 2) + 0.25
        let weight = random([c.0[1]], seed: 58), bias = random([c.0[1]], seed: 59)
        expectClose(Tensor.groupNorm(x, groups: c.1, weight: weight, bias: bias, epsilon: 1e-5),
                    Reference.groupNorm(x, groups: c.1, weight: weight, bias: bias, epsilon: 1e-5))
        expectClose(Tensor.groupNorm(x, groups: c.1, weight: nil, bias: nil, epsilon: 1e-5),
                    Reference.groupNorm(x, groups: c.1, weight: nil, bias: nil, epsilon: 1e-5))
        let offset = x + 5_000
        expectClose(Tensor.groupNorm(offset, groups: c.1, weight: weight, bias: bias, epsilon: 1e-5),
                    Reference.groupNorm(offset, groups: c.1, weight: weight, bias: bias, epsilon: 1e-5))
    }

    @Test func groupNormValuesMatchPyTorch() {
        // x = arange(24).reshape(2, 4, 3) ** 1.5 / 10; F.group_norm(x, 2, w, b, eps = 1e-5)
        let x = Tensor(shape: [2, 4, 3], scalars: (0..<24).map { Float(Double($0) * Double($0).squareRoot() / 10) })
        let y = Tensor.groupNorm(x, groups: 2, weight: Tensor(shape: [4], scalars: [1, 0.5, -1, 2]),
                                 bias: Tensor(shape: [4], scalars: [0, 1, -0.5, 0.25]), epsilon: 1e-5)
        let expected: [Float] = [
            -1.197751760482788, -0.9429553747177124, -0.4770788550376892, 1.0631043910980225, 1.4203095436096191,
            1.8254790306091309, 0.9035302996635437, 0.3905848264694214, -0.1604405641555786, 0.7441530823707581,
            1.9845575094223022, 3.2886407375335693, -1.4292768239974976, -0.885281503200531, -0.31993988156318665,
            1.1329854726791382, 1.4358763694763184, 1.7483867406845093, 0.9396011829376221, 0.38318485021591187,
            -0.18807353079319, 0.7975960373878479, 1.9972782135009766, 3.2245469093322754,
        ]
        expectClose(y, Tensor(shape: [2, 4, 3], scalars: expected), tolerance: 2e-6)
    }

    @Test(arguments: [[1, 1], [2, 3], [1, 5, 7, 9], [2, 64, 31, 31], [3, 20, 1, 1]])
    func batchNormMatchesReference(_ shape: [Int]) {
        let x = random(shape, seed: 60, scale: 3)
        let C = shape[1]
        let mean = random([C], seed: 61), variance = random([C], seed: 62) * random([C], seed: 62) + 0.1
        let weight = random([C], seed: 63), bias = random([C], seed: 64)
        let expected = Reference.batchNorm(x, runningMean: mean, runningVariance: variance, weight: weight, bias: bias, epsilon: 1e-5)
        expectClose(Tensor.batchNorm(x, runningMean: mean, runningVariance: variance, weight: weight, bias: bias, epsilon: 1e-5),
                    expected)
        expectClose(Tensor.batchNorm(x, runningMean: mean, runningVariance: variance, weight: weight, bias: bias,
                                     epsilon: 1e-5, applyingReLU: true),
                    Reference.relu(expected))
        expectClose(Tensor.batchNorm(x, runningMean: mean, runningVariance: variance, weight: nil, bias: nil, epsilon: 1e-3),
                    Reference.batchNorm(x, runningMean: mean, runningVariance: variance, weight: nil, bias: nil, epsilon: 1e-3))
    }

    @Test func batchNormWithEpsilonMatchesPyTorch() {
        // F.batch_norm(x, mean = [2, 1], var = [0.5, 4], w = [1.5, -2], b = [0.1, 0.2], training = False, eps = 1e-3)
        let x = Tensor(shape: [1, 2, 2, 2], scalars: [1, 2, 3, 4, -1, 0, 5, 10])
        let y = Tensor.batchNorm(x, runningMean: Tensor(shape: [2], scalars: [2, 1]),
                                 runningVariance: Tensor(shape: [2], scalars: [0.5, 4]),
                                 weight: Tensor(shape: [2], scalars: [1.5, -2]), bias: Tensor(shape: [2], scalars: [0.1, 0.2]),
                                 epsilon: 1e-3)
        expectClose(y, Tensor(shape: [1, 2, 2, 2], scalars: [-2.01920223236084, 0.09999990463256836, 2.2192020416259766,
                                                             4.338404178619385, 2.1997501850128174, 1.1998751163482666,
                                                             -3.7995002269744873, -8.79887580871582]), tolerance: 1e-6)
    }

    // MARK: - Gradients against the composed ops

    @Test func layerNormGradientMatchesComposedOps() {
        let x = leaf(random([3, 2, 10], seed: 65)), w = leaf(random([2, 10], seed: 66)), b = leaf(random([2, 10], seed: 67))
        let seed = random([3, 2, 10], seed: 68)
        let fused = gradients(of: Tensor.layerNorm(x, normalizedShape: [2, 10], weight: w, bias: b, epsilon: 1e-5),
                              seed: seed, withRespectTo: [x, w, b])
        let mean = x.mean(axes: [1, 2], keepingDimensions: true)
        let centered = x - mean
        let variance = (centered * centered).mean(axes: [1, 2], keepingDimensions: true)
        let composed = gradients(of: centered / (variance + 1e-5).sqrt() * w + b, seed: seed, withRespectTo: [x, w, b])
        for i in 0..<3 { expectClose(fused[i], composed[i], tolerance: 1e-4) }
    }

    @Test func groupNormGradientMatchesComposedOps() {
        let x = leaf(random([2, 6, 3, 2], seed: 69)), w = leaf(random([6], seed: 70)), b = leaf(random([6], seed: 71))
        let seed = random([2, 6, 3, 2], seed: 72)
        let fused = gradients(of: Tensor.groupNorm(x, groups: 3, weight: w, bias: b, epsilon: 1e-5),
                              seed: seed, withRespectTo: [x, w, b])
        let grouped = x.reshaped([2, 3, -1])
        let centered = grouped - grouped.mean(axes: [2], keepingDimensions: true)
        let variance = (centered * centered).mean(axes: [2], keepingDimensions: true)
        let normalized = (centered / (variance + 1e-5).sqrt()).reshaped([2, 6, 3, 2])
        let composed = gradients(of: normalized * w.reshaped([1, 6, 1, 1]) + b.reshaped([1, 6, 1, 1]),
                                 seed: seed, withRespectTo: [x, w, b])
        for i in 0..<3 { expectClose(fused[i], composed[i], tolerance: 1e-4) }
    }

    @Test(arguments: [false, true])
    func batchNormGradientMatchesComposedOps(_ relu: Bool) {
        let x = leaf(random([2, 3, 4, 5], seed: 73)), mean = leaf(random([3], seed: 74))
        let variance = leaf(random([3], seed: 75).map { $0 * $0 + 0.2 })
        let w = leaf(random([3], seed: 76)), b = leaf(random([3], seed: 77))
        let seed = random([2, 3, 4, 5], seed: 78)
        let inputs = [x, mean, variance, w, b]
        let fused = gradients(of: Tensor.batchNorm(x, runningMean: mean, runningVariance: variance, weight: w, bias: b,
                                                   epsilon: 1e-3, applyingReLU: relu),
                              seed: seed, withRespectTo: inputs)
        let stat = [1, 3, 1, 1]
        var composed = (x - mean.reshaped(stat)) / (variance.reshaped(stat) + 1e-3).sqrt() * w.reshaped(stat) + b.reshaped(stat)
        if relu { composed = composed.relu() }
        let expected = gradients(of: composed, seed: seed, withRespectTo: inputs)
        for i in inputs.indices { expectClose(fused[i], expected[i], tolerance: 1e-4) }
    }
}
