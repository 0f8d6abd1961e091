import NN
import Tensors
import Testing
import TestSupport

// End to end against the PyTorch fixtures, with test-only copies of the fixture architectures
// (the model zoo owns the real ones): key names and order, repr, strict float16 loading,
// FX-named captures of every module (tuple outputs included) and numerical parity.

// MARK: - torchvision VisionTransformer (torchvision/models/vision_transformer.py)

private final class MLPBlock: Sequential {
    init(inDimension: Int, mlpDimension: Int, dropout: Double) {
        super.init([Linear(inFeatures: inDimension, outFeatures: mlpDimension), GELU(), Dropout(probability: dropout),
                    Linear(inFeatures: mlpDimension, outFeatures: inDimension), Dropout(probability: dropout)])
    }
}

private final class EncoderBlock: UnaryModule {
    let ln1: LayerNorm
    let selfAttention: MultiheadAttention
    let dropout: Dropout
    let ln2: LayerNorm
    let mlp: MLPBlock

    init(headCount: Int, hiddenDimension: Int, mlpDimension: Int) {
        ln1 = LayerNorm(hiddenDimension, epsilon: 1e-6)
        selfAttention = MultiheadAttention(embedDimension: hiddenDimension, headCount: headCount, batchFirst: true)
        dropout = Dropout(probability: 0)
        ln2 = LayerNorm(hiddenDimension, epsilon: 1e-6)
        mlp = MLPBlock(inDimension: hiddenDimension, mlpDimension: mlpDimension, dropout: 0)
        super.init()
    }

    override var keyOverrides: [String: String] { ["ln1": "ln_1", "ln2": "ln_2"] }

    override func forward(_ input: Tensor) throws -> Tensor {
        var x = try ln1(input)
        x = try selfAttention(query: x, key: x, value: x, needWeights: false).output
        x = try dropout(x) + input
        return try x + mlp(ln2(x))
    }
}

private final class Encoder: UnaryModule {
    let posEmbedding: Parameter
    let dropout = Dropout(probability: 0)
    let layers: Sequential
    let ln: LayerNorm

    init(sequenceLength: Int, layerCount: Int, headCount: Int, hiddenDimension: Int, mlpDimension: Int) {
        posEmbedding = Parameter(Tensor(zeros: [1, sequenceLength, hiddenDimension]))
        layers = Sequential(named: (0..<layerCount).map {
            ("encoder_layer_\($0)", EncoderBlock(headCount: headCount, hiddenDimension: hiddenDimension, mlpDimension: mlpDimension))
        })
        ln = LayerNorm(hiddenDimension, epsilon: 1e-6)
        super.init()
        resetParameters()
    }

    override func resetParameters() { Initializers.normal(posEmbedding, standardDeviation: 0.02) }

    override func forward(_ input: Tensor) throws -> Tensor {
        try ln(layers(dropout(input + posEmbedding.value)))
    }
}

private final class VisionTransformer: UnaryModule {
    let patchSize: Int
    let hiddenDimension: Int
    let convProj: Conv2d
    let classToken: Parameter
    let encoder: Encoder
    let heads: Sequential

    init(imageSize: Int, patchSize: Int, layerCount: Int, headCount: Int, hiddenDimension: Int, mlpDimension: Int, classCount: Int) {
        self.patchSize = patchSize
        self.hiddenDimension = hiddenDimension
        convProj = Conv2d(inChannels: 3, outChannels: hiddenDimension, kernelSize: IntPair(patchSize), stride: IntPair(patchSize))
        classToken = Parameter(Tensor(zeros: [1, 1, hiddenDimension]))
        let sequenceLength = (imageSize / patchSize) * (imageSize / patchSize) + 1
        encoder = Encoder(sequenceLength: sequenceLength, layerCount: layerCount, headCount: headCount,
                          hiddenDimension: hiddenDimension, mlpDimension: mlpDimension)
        heads = Sequential(named: [("head", Linear(inFeatures: hiddenDimension, outFeatures: classCount))])
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        let batch = input.shape[0]
        var x = try convProj(input)
        x = x.reshaped([batch, hiddenDimension, -1]).permuted([0, 2, 1])
        let token = classToken.value.broadcast(to: [batch, 1, hiddenDimension])
        x = try encoder(Tensor.concatenate([token, x], axis: 1))
        return try heads(x.selecting(axis: 1, index: 0))
    }
}

/// torchvision prints the class name `ResNet`.
private final class ResNet: UnaryModule {
    let wrapped = MiniResNet()
    override func forward(_ input: Tensor) throws -> Tensor { try wrapped(input) }
}

@Suite struct FixtureModelTests {
    @Test func resnetKeysInOrderAndReprMatchTorchvision() {
        let model = MiniResNet()
        let reference = LayerFixtures.modules["resnet_basic_1111"]!
        #expect(model.stateDict().keys == reference.stateKeys)
        // The only difference in the printed tree is the class name of the root.
        #expect(model.description.replacingOccurrences(of: "MiniResNet(", with: "ResNet(") == reference.repr)
    }

    @Test func vitKeysInOrderAndReprMatchTorchvision() {
        let model = VisionTransformer(imageSize: 32, patchSize: 8, layerCount: 2, headCount: 2, hiddenDimension: 32, mlpDimension: 64, classCount: 10)
        let reference = LayerFixtures.modules["vit_tiny"]!
        #expect(model.stateDict().keys == reference.stateKeys)
        #expect(model.description == reference.repr)
    }

    @Test func resnetLoadsFloat16WeightsAndMatchesEveryLayer() throws {
        let weights = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/model.safetensors"))
        #expect(weights.info(named: "conv1.weight")?.dtype == .float16)
        let model = MiniResNet().eval()
        try model.loadStateDict(weights.stateDict())
        #expect(model.conv1.weight.value.dtype == .float32)
        #expect(model.bn1.numBatchesTracked!.value.dtype == .int64)
        let input = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/input.safetensors")).tensor(named: "input")
        let expected = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/expected.safetensors"))
        let features = try GradMode.withDisabled {
            try model.captureFeatures(layers: expected.names.map { LayerSelector.name($0) }) { try model(input) }
        }
        #expect(Set(features.names) == Set(expected.names))
        for name in expected.names {
            let difference = try #require(difference(features[name]!, try expected.tensor(named: name)), "\(name): shape")
            #expect(difference.scaledError <= 1e-4, "\(name): \(difference)")
        }
        #expect(model.hookCount == 0)
    }

    @Test func vitMatchesEveryLayerIncludingAttentionTupleOutputs() throws {
        let model = VisionTransformer(imageSize: 32, patchSize: 8, layerCount: 2, headCount: 2, hiddenDimension: 32, mlpDimension: 64, classCount: 10).eval()
        try model.loadStateDict(try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/model.safetensors")).stateDict())
        let input = try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/input.safetensors")).tensor(named: "input")
        let expected = try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/expected.safetensors"))
        let catalog = try model.traceLayers { try model(input) }
        #expect(Set(catalog.names + ["output"]) == Set(expected.names))
        let features = try model.captureFeatures(layers: expected.names.map { LayerSelector.name($0) }, catalog: catalog) { try model(input) }
        for name in expected.names {
            let difference = try #require(difference(features[name]!, try expected.tensor(named: name)), "\(name): shape")
            #expect(difference.scaledError <= 1e-4, "\(name): \(difference)")
        }
    }
}

import Foundation
