import Foundation
import NN
import Tensors
import Testing

@Suite struct InitializersTests {
    private func statistics(_ values: [Float]) -> (mean: Double, standardDeviation: Double, minimum: Float, maximum: Float) {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        return (mean, variance.squareRoot(), values.min()!, values.max()!)
    }

    @Test func aSeedGivesIdenticalWeightsEveryRun() {
        let first = withRandomSeed(42) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }
        let second = withRandomSeed(42) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }
        let third = withRandomSeed(43) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }
        for ((key, a), (_, b)) in zip(first.stateDict(), second.stateDict()) {
            #expect(a.toArray() == b.toArray(), "\(key)")
        }
        #expect(first.conv1.weight.value.toArray() != third.conv1.weight.value.toArray())
    }

    @Test func seededBlocksNestAndRestoreTheSurroundingSequence() {
        let (outer, inner, resumed) = withRandomSeed(1) { () -> ([Float], [Float], [Float]) in
            let outer = Linear(inFeatures: 3, outFeatures: 3).weight.value.toArray()
            let inner = withRandomSeed(2) { Linear(inFeatures: 3, outFeatures: 3).weight.value.toArray() }
            let resumed = Linear(inFeatures: 3, outFeatures: 3).weight.value.toArray()
            return (outer, inner, resumed)
        }
        let reference = withRandomSeed(1) { () -> [Float] in
            _ = Linear(inFeatures: 3, outFeatures: 3)
            return Linear(inFeatures: 3, outFeatures: 3).weight.value.toArray()
        }
        #expect(resumed == reference)
        #expect(inner == withRandomSeed(2) { Linear(inFeatures: 3, outFeatures: 3).weight.value.toArray() })
        #expect(outer != inner)
    }

    @Test func initOutsideResetParametersRecallingWithTheSameSeedReproducesWeights() {
        // Every layer's initialization lives in resetParameters(): re-running it under the same
        // seed gives the weights construction gave, for one layer and for a whole tree.
        let linear = withRandomSeed(9) { Linear(inFeatures: 5, outFeatures: 4) }
        let built = linear.stateDict().map { $0.tensor.toArray() }
        Initializers.zeros(linear.weight)
        withRandomSeed(9) { linear.resetParameters() }
        #expect(linear.stateDict().map { $0.tensor.toArray() } == built)

        let model = withRandomSeed(10) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }
        let reference = model.stateDict().map { $0.tensor.toArray() }
        for parameter in model.parameters() { Initializers.constant(parameter, 0.5) }
        withRandomSeed(10) { model.resetParametersRecursively() }
        #expect(model.stateDict().map { $0.tensor.toArray() } == reference)

        let attention = withRandomSeed(11) { MultiheadAttention(embedDimension: 8, headCount: 2) }
        let attentionReference = attention.stateDict().map { $0.tensor.toArray() }
        withRandomSeed(11) { attention.resetParametersRecursively() }
        #expect(attention.stateDict().map { $0.tensor.toArray() } == attentionReference)
    }

    @Test func linearAndConvUsePyTorchsDefaultBounds() {
        let linear = withRandomSeed(3) { Linear(inFeatures: 64, outFeatures: 128) }
        let bound: Float = 1 / 8  // 1/√fan_in: kaiming-uniform with a = √5
        let weight = statistics(linear.weight.value.toArray())
        #expect(weight.minimum >= -bound && weight.maximum <= bound)
        #expect(abs(weight.standardDeviation - Double(bound) / 3.0.squareRoot()) < 0.003)
        let bias = statistics(linear.bias!.value.toArray())
        #expect(bias.minimum >= -bound && bias.maximum <= bound && bias.maximum > bound * 0.8)

        let conv = withRandomSeed(4) { Conv2d(inChannels: 8, outChannels: 16, kernelSize: 3, groups: 2) }
        let convBound = 1 / Float(4 * 9).squareRoot()  // fan_in = in/groups · kh · kw
        let convWeight = statistics(conv.weight.value.toArray())
        #expect(convWeight.minimum >= -convBound && convWeight.maximum <= convBound && convWeight.maximum > convBound * 0.9)
    }

    @Test func normsEmbeddingsAndAttentionStartAtPyTorchsDefaults() {
        let norm = BatchNorm2d(featureCount: 3)
        #expect(norm.weight!.value.toArray() == [1, 1, 1] && norm.bias!.value.toArray() == [0, 0, 0])
        #expect(norm.runningMean!.value.toArray() == [0, 0, 0] && norm.runningVar!.value.toArray() == [1, 1, 1])
        #expect(LayerNorm(4).weight!.value.toArray() == [1, 1, 1, 1])
        #expect(GroupNorm(groupCount: 2, channelCount: 4).bias!.value.toArray() == [0, 0, 0, 0])

        let embedding = withRandomSeed(5) { Embedding(embeddingCount: 500, embeddingDimension: 20, paddingIndex: -1) }
        #expect(embedding.paddingIndex == 499)
        let rows = embedding.weight.value.toArray()
        #expect(rows.suffix(20).allSatisfy { $0 == 0 })
        let normal = statistics(Array(rows.prefix(499 * 20)))
        #expect(abs(normal.mean) < 0.03 && abs(normal.standardDeviation - 1) < 0.03)

        let attention = withRandomSeed(6) { MultiheadAttention(embedDimension: 16, headCount: 4) }
        let xavierBound = (6 / Float(16 + 48)).squareRoot()
        let projection = statistics(attention.inProjWeight!.value.toArray())
        #expect(projection.minimum >= -xavierBound && projection.maximum <= xavierBound && projection.maximum > xavierBound * 0.9)
        #expect(attention.inProjBias!.value.toArray().allSatisfy { $0 == 0 })
        #expect(attention.outProj.bias!.value.toArray().allSatisfy { $0 == 0 })
    }

    @Test func gainsMatchCalculateGain() {
        #expect(Initializers.gain(.linear) == 1 && Initializers.gain(.conv2d) == 1 && Initializers.gain(.sigmoid) == 1)
        #expect(Initializers.gain(.tanh) == 5.0 / 3)
        #expect(Initializers.gain(.relu) == Float(2).squareRoot())
        #expect(Initializers.gain(.selu) == 0.75)
        #expect(abs(Initializers.gain(.leakyReLU()) - (2 / (1 + 0.0001) as Float).squareRoot()) < 1e-7)
        #expect(abs(Initializers.gain(.leakyReLU(negativeSlope: Float(5).squareRoot())) - (1 / Float(3)).squareRoot()) < 1e-7)
    }

    @Test func fansFollowTheWeightLayout() {
        #expect(Initializers.fans(of: [128, 64]) == (64, 128))
        #expect(Initializers.fans(of: [16, 4, 3, 3]) == (36, 144))
    }

    @Test(arguments: [Initializers.FanMode.fanIn, .fanOut])
    func kaimingSchemesHaveTheExpectedSpread(mode: Initializers.FanMode) {
        let parameter = Parameter(Tensor(zeros: [200, 100]))
        let fan = Double(mode == .fanIn ? 100 : 200)
        withRandomSeed(7) { Initializers.kaimingNormal(parameter, mode: mode, nonlinearity: .relu) }
        #expect(abs(statistics(parameter.value.toArray()).standardDeviation - (2 / fan).squareRoot()) < 0.004)
        withRandomSeed(8) { Initializers.kaimingUniform(parameter, mode: mode, nonlinearity: .relu) }
        let uniform = statistics(parameter.value.toArray())
        let bound = Float((6 / fan).squareRoot())
        #expect(uniform.minimum >= -bound && uniform.maximum <= bound && uniform.maximum > bound * 0.95)
    }

    @Test func xavierNormalTruncatedNormalAndConstants() {
        let parameter = Parameter(Tensor(zeros: [300, 100]))
        withRandomSeed(9) { Initializers.xavierNormal(parameter, gain: 2) }
        #expect(abs(statistics(parameter.value.toArray()).standardDeviation - 2 * (2.0 / 400).squareRoot()) < 0.003)
        withRandomSeed(10) { Initializers.truncatedNormal(parameter, mean: 1, standardDeviation: 2, lower: 0, upper: 1.5) }
        let truncated = statistics(parameter.value.toArray())
        #expect(truncated.minimum >= 0 && truncated.maximum <= 1.5)
        // N(1, 2²) restricted to [0, 1.5] is nearly uniform there, slightly heavier near 1.
        #expect(abs(truncated.mean - 0.77) < 0.02)
        // PyTorch's ViT/BERT style: σ = 0.02 with absolute bounds ±2 (±100σ) — no visible truncation.
        withRandomSeed(11) { Initializers.truncatedNormal(parameter, standardDeviation: 0.02) }
        #expect(abs(statistics(parameter.value.toArray()).standardDeviation - 0.02) < 0.0005)
        // Truncation at ±2σ shrinks the standard deviation to ≈ 0.8796σ.
        withRandomSeed(12) { Initializers.truncatedNormal(parameter) }
        let standard = statistics(parameter.value.toArray())
        #expect(standard.minimum >= -2 && standard.maximum <= 2 && abs(standard.standardDeviation - 0.8796) < 0.01)
        Initializers.constant(parameter, 0.25)
        #expect(parameter.value.toArray().allSatisfy { $0 == 0.25 })
        Initializers.ones(parameter)
        #expect(parameter.value.toArray().allSatisfy { $0 == 1 })
        withRandomSeed(12) { Initializers.uniform(parameter, in: 2...3) }
        let uniform = statistics(parameter.value.toArray())
        #expect(uniform.minimum >= 2 && uniform.maximum <= 3 && abs(uniform.mean - 2.5) < 0.01)
    }
}
