import NN
import Tensors
import Testing
import TestSupport

// Attribution against PyTorch autograd (Tests/Fixtures/gradients, written by
// scripts/fixtures/make_gradient_fixtures.py): input and layer gradients for class, output-index
// and layer-norm targets, and Grad-CAM, on the ResNet and ViT fixtures; bilinear interpolation
// against F.interpolate. Tolerance: 1e-4 relative to the reference's largest magnitude (strictly
// relative, even for gradients far below 1).
//
// The models are test-only copies of the torchvision architectures (MiniResNet in
// Support/TestModules.swift, the ViT below); the model zoo's own ResNet/ViT can take them over.

// MARK: - torchvision VisionTransformer (torchvision/models/vision_transformer.py)

private final class MLPBlock: Sequential {
    init(inDimension: Int, mlpDimension: Int) {
        super.init([Linear(inFeatures: inDimension, outFeatures: mlpDimension), GELU(), Dropout(probability: 0),
                    Linear(inFeatures: mlpDimension, outFeatures: inDimension), Dropout(probability: 0)])
    }
}

private final class EncoderBlock: UnaryModule {
    let ln1: LayerNorm
    let selfAttention: MultiheadAttention
    let dropout = Dropout(probability: 0)
    let ln2: LayerNorm
    let mlp: MLPBlock

    init(headCount: Int, hiddenDimension: Int, mlpDimension: Int) {
        ln1 = LayerNorm(hiddenDimension, epsilon: 1e-6)
        selfAttention = MultiheadAttention(embedDimension: hiddenDimension, headCount: headCount, batchFirst: true)
        ln2 = LayerNorm(hiddenDimension, epsilon: 1e-6)
        mlp = MLPBlock(inDimension: hiddenDimension, mlpDimension: mlpDimension)
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
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        try ln(layers(dropout(input + posEmbedding.value)))
    }
}

private final class VisionTransformer: UnaryModule {
    let hiddenDimension: Int
    let convProj: Conv2d
    let classToken: Parameter
    let encoder: Encoder
    let heads: Sequential

    init(imageSize: Int, patchSize: Int, layerCount: Int, headCount: Int, hiddenDimension: Int, mlpDimension: Int, classCount: Int) {
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

// MARK: - Fixtures

private enum GradientFixtures {
    static let file: SafetensorsFile = {
        do { return try SafetensorsFile(contentsOf: Fixtures.url("gradients/gradients.safetensors")) } catch {
            fatalError("cannot read gradients/gradients.safetensors: \(error)")
        }
    }()

    static func resnet() throws -> (model: MiniResNet, input: Tensor) {
        let model = MiniResNet().eval()
        try model.loadStateDict(try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/model.safetensors")).stateDict())
        let input = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/input.safetensors")).tensor(named: "input")
        return (model, input)
    }

    static func vit() throws -> (model: VisionTransformer, input: Tensor) {
        let model = VisionTransformer(imageSize: 32, patchSize: 8, layerCount: 2, headCount: 2, hiddenDimension: 32,
                                      mlpDimension: 64, classCount: 10).eval()
        try model.loadStateDict(try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/model.safetensors")).stateDict())
        let input = try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/input.safetensors")).tensor(named: "input")
        return (model, input)
    }
}

/// max |actual − expected| / max |expected|.
private func relativeError(_ actual: Tensor?, _ expected: Tensor) -> Float {
    guard let actual, let d = difference(actual, expected), d.referenceMaxMagnitude > 0 else { return .infinity }
    return d.maxAbsoluteError / d.referenceMaxMagnitude
}

/// Expects every `<prefix>.<key>` of the fixture file to match `result[key]` within 1e-4.
private func expectMatches(_ result: CapturedFeatures, prefix: String, keys: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(result.names == keys, sourceLocation: sourceLocation)
    for key in keys {
        let expected = try GradientFixtures.file.tensor(named: "\(prefix).\(key)")
        let error = relativeError(result[key], expected)
        #expect(error <= 1e-4, "\(prefix).\(key): relative error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct AttributionParityTests {
    @Test func resnetClassTargetInputAndLayerGradients() throws {
        let (model, input) = try GradientFixtures.resnet()
        let result = try model.attribute(AttributionRequest(target: .classIndex(7), layers: ["layer3", "layer4", "layer1.0.relu_1"]),
                                         input: input)
        try expectMatches(result, prefix: "resnet.class7",
                          keys: ["input_grad", "grad:layer1.0.relu_1", "grad:layer3", "grad:layer4"])
        #expect(model.hookCount == 0)
        #expect(model.parameters().allSatisfy { $0.grad == nil })
    }

    @Test func resnetGradCAM() throws {
        let (model, input) = try GradientFixtures.resnet()
        let result = try model.attribute(AttributionRequest(target: .classIndex(7), method: .gradcam, layers: ["layer4", "layer3"]),
                                         input: input)
        try expectMatches(result, prefix: "resnet.class7", keys: ["gradcam:layer3", "gradcam:layer4"])
        let normalized = try model.attribute(AttributionRequest(target: .classIndex(7), method: .gradcam, layers: ["layer4"],
                                                                gradCAM: GradCAMOptions(normalization: .minMax)), input: input)
        let expected = try GradientFixtures.file.tensor(named: "resnet.class7.gradcam_minmax:layer4")
        #expect(relativeError(normalized["gradcam:layer4"], expected) <= 1e-4)
        #expect(model.hookCount == 0)
    }

    @Test func resnetLayerNormAndOutputIndexTargets() throws {
        let (model, input) = try GradientFixtures.resnet()
        let norm = try model.attribute(AttributionRequest(target: .layerNorm(layer: "layer3")), input: input)
        try expectMatches(norm, prefix: "resnet.layer3_l2", keys: ["input_grad"])
        let element = try model.attribute(AttributionRequest(target: .outputIndex([1, 42])), input: input)
        try expectMatches(element, prefix: "resnet.index_1_42", keys: ["input_grad"])
    }

    @Test func vitClassTargetInputEncoderLayerGradientsAndGradCAM() throws {
        let (model, input) = try GradientFixtures.vit()
        let layers: [LayerSelector] = ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1", "conv_proj"]
        let result = try model.attribute(AttributionRequest(target: .classIndex(3), layers: layers), input: input)
        try expectMatches(result, prefix: "vit.class3", keys: ["input_grad", "grad:conv_proj", "grad:encoder.layers.encoder_layer_0",
                                                               "grad:encoder.layers.encoder_layer_1"])
        let cam = try model.attribute(AttributionRequest(target: .classIndex(3), method: .gradcam, layers: ["conv_proj"]), input: input)
        try expectMatches(cam, prefix: "vit.class3", keys: ["gradcam:conv_proj"])
        #expect(model.hookCount == 0)
    }

    @Test func vitOutputIndexAndLayerNormTargets() throws {
        let (model, input) = try GradientFixtures.vit()
        let element = try model.attribute(AttributionRequest(target: .outputIndex([0, 5])), input: input)
        try expectMatches(element, prefix: "vit.index_0_5", keys: ["input_grad"])
        let norm = try model.attribute(AttributionRequest(target: .layerNorm(layer: "encoder.layers.encoder_layer_0")), input: input)
        try expectMatches(norm, prefix: "vit.layer0_l2", keys: ["input_grad"])
    }

    @Test(arguments: [("up", (9, 11), false), ("up_aligned", (9, 11), true), ("down", (3, 4), false), ("down_aligned", (3, 4), true)])
    func bilinearInterpolationMatchesPyTorch(_ name: String, _ size: (Int, Int), _ alignCorners: Bool) throws {
        var x = try GradientFixtures.file.tensor(named: "interpolate.input")
        x.requiresGrad = true
        let output = x.interpolateBilinear(size: size, alignCorners: alignCorners)
        #expect(relativeError(output, try GradientFixtures.file.tensor(named: "interpolate.\(name).output")) <= 1e-6)
        try output.backward(gradient: try GradientFixtures.file.tensor(named: "interpolate.\(name).weights"))
        #expect(relativeError(x.grad, try GradientFixtures.file.tensor(named: "interpolate.\(name).input_grad")) <= 1e-6)
    }
}
