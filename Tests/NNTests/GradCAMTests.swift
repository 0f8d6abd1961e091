import NN
import Tensors
import Testing
import TestSupport

// Grad-CAM maps (GradCAM.swift) on hand-computed values: channel weights, ReLU, min-max scaling
// and upsampling; the upsampling (and its gradient) against PyTorch's F.interpolate(mode="bilinear")
// (Tests/Fixtures/gradients, scripts/fixtures/make_gradient_fixtures.py). Whole-model Grad-CAM
// parity: Tests/ModelsTests/InferenceModelAttributionTests.swift.

@Suite struct GradCAMTests {
    /// Two channels of 2×2; gradients average to 1 and −0.5 per channel.
    private let activation = Tensor(shape: [1, 2, 2, 2], scalars: [1, 2, 3, 4, 4, 0, 2, 2])
    private let gradient = Tensor(shape: [1, 2, 2, 2], scalars: [2, 0, 1, 1, -1, 0, -1, 0])

    @Test func weightsChannelsByTheirMeanGradientAndClampsAtZero() {
        let map = GradCAM.map(activation: activation, gradient: gradient, options: GradCAMOptions(upsampleToInput: false), inputSize: nil)
        // 1·[1, 2, 3, 4] − 0.5·[4, 0, 2, 2] = [−1, 2, 2, 3] → ReLU.
        #expect(map.shape == [1, 1, 2, 2])
        #expect(map.toArray() == [0, 2, 2, 3])
    }

    @Test func minMaxScalingRunsPerSampleBeforeUpsampling() {
        let options = GradCAMOptions(normalization: .minMax, upsampleToInput: true)
        let map = GradCAM.map(activation: activation, gradient: gradient, options: options, inputSize: (4, 4))
        let scaled = Tensor(shape: [1, 1, 2, 2], scalars: [0, 2, 2, 3].map { $0 / (3 + 1e-7) })
        #expect(isClose(map, scaled.interpolateBilinear(size: (4, 4)), tolerance: 1e-6))
        #expect(map.toArray().max()! <= 1 && map.toArray().min()! >= 0)
    }

    @Test func keepsTheLayerResolutionWhenAskedOrWhenSizesMatch() {
        let same = GradCAM.map(activation: activation, gradient: gradient, inputSize: (2, 2))
        #expect(same.toArray() == [0, 2, 2, 3])
        let upsampled = GradCAM.map(activation: activation, gradient: gradient, options: GradCAMOptions(alignCorners: true), inputSize: (3, 3))
        #expect(upsampled.toArray() == [0, 1, 2, 1, 1.75, 2.5, 2, 2.5, 3])
    }

    @Test(arguments: [("up", (9, 11), false), ("up_aligned", (9, 11), true), ("down", (3, 4), false), ("down_aligned", (3, 4), true)])
    func bilinearUpsamplingMatchesPyTorch(_ name: String, _ size: (Int, Int), _ alignCorners: Bool) throws {
        let references = try SafetensorsFile(contentsOf: Fixtures.url("gradients/gradients.safetensors"))
        var x = try references.tensor(named: "interpolate.input")
        x.requiresGrad = true
        let output = x.interpolateBilinear(size: size, alignCorners: alignCorners)
        let expected = try references.tensor(named: "interpolate.\(name).output")
        #expect(isClose(output, expected, tolerance: 1e-6), "\(difference(output, expected)!)")
        try output.backward(gradient: try references.tensor(named: "interpolate.\(name).weights"))
        let gradient = try #require(x.grad)
        let expectedGradient = try references.tensor(named: "interpolate.\(name).input_grad")
        #expect(isClose(gradient, expectedGradient, tolerance: 1e-6), "\(difference(gradient, expectedGradient)!)")
    }
}
