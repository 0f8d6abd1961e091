import NN
import Tensors
import Testing
import TestSupport

// `Module.attribute` (Module+Attribution.swift) on small models: results against gradients
// computed directly, keys and order, integer inputs, repeated calls, parameters left alone,
// errors naming the problem, and no hooks left behind. PyTorch parity on the real ResNet, ViT and
// BERT: Tests/ModelsTests/InferenceModelAttributionTests.swift.

/// x → Linear(4, 6) → ReLU → Linear(6, 3).
private func mlp() -> Sequential {
    withRandomSeed(7) {
        Sequential(named: [("fc1", Linear(inFeatures: 4, outFeatures: 6)), ("act", ReLU()), ("fc2", Linear(inFeatures: 6, outFeatures: 3))])
    }
}

/// Token ids → Embedding → mean over tokens → Linear.
private final class TokenClassifier: Module {
    let embedding = Embedding(embeddingCount: 10, embeddingDimension: 4)
    let head = Linear(inFeatures: 4, outFeatures: 2)
    func callAsFunction(_ ids: Tensor) throws -> Tensor {
        try head(embedding(ids).mean(axes: [1]))
    }
}

/// Runs `twice` two times: `twice`, `twice_1`.
private final class Repeated: UnaryModule {
    let twice = Linear(inFeatures: 3, outFeatures: 3)
    override func forward(_ input: Tensor) throws -> Tensor { try twice(twice(input).tanh()) }
}

/// Two inputs, both differentiable.
private final class TwoInputs: Module {
    let left = Linear(inFeatures: 2, outFeatures: 2), right = Linear(inFeatures: 3, outFeatures: 2)
    func callAsFunction(_ a: Tensor, _ b: Tensor) throws -> Tensor { try left(a) * right(b) }
}

@Suite struct ModuleAttributionTests {
    @Test func saliencyEqualsTheDirectGradientsAndLeavesTheModelAsItWas() throws {
        let model = mlp().eval()
        let x = randomTensor([2, 4], seed: 1)
        let result = try model.attribute(Attribution(target: .classIndex(2), layers: ["act", "fc1"]), input: x)
        #expect(result.names == ["input_grad", "grad:fc1", "grad:act"])  // layers in the order they ran

        var leaf = x
        leaf.requiresGrad = true
        let hidden = try model[0](leaf), activated = try model[1](hidden)
        let logits = try model[2](activated)
        let direct = try Tensor.gradients(of: logits.selecting(axis: 1, index: 2).sum(), withRespectTo: [leaf, hidden, activated])
        #expect(isClose(result["input_grad"]!, direct[0], tolerance: 1e-6))
        #expect(isClose(result["grad:fc1"]!, direct[1], tolerance: 1e-6))
        #expect(isClose(result["grad:act"]!, direct[2], tolerance: 1e-6))
        #expect(result.allSatisfy { !$0.tensor.requiresGrad })
        #expect(model.hookCount == 0)
        #expect(model.parameters().allSatisfy { $0.grad == nil && $0.requiresGrad })
    }

    @Test func theModelOutputIsALayerToo() throws {
        let model = mlp().eval()
        let result = try model.attribute(Attribution(target: .classIndex(2), layers: ["output", "fc2:input"]),
                                         input: randomTensor([2, 4], seed: 10))
        #expect(result.names == ["input_grad", "grad:fc2:input", "grad:output"])
        #expect(result["grad:output"]?.toArray() == [0, 0, 1, 0, 0, 1])
        // ∂ logits[:, 2] / ∂ fc2's input = row 2 of fc2's weight, per sample.
        let row = model[2].parameters()[0].value.selecting(axis: 0, index: 2)
        #expect(isClose(result["grad:fc2:input"]!, row.broadcast(to: [2, 6]), tolerance: 1e-6))
    }

    @Test func parametersNeedNotRequireGrad() throws {
        let model = mlp().eval()
        let x = randomTensor([3, 4], seed: 2)
        let tracked = try model.attribute(Attribution(target: .outputIndex([1, 0]), layers: ["fc2"]), input: x)
        model.requiresGrad(false)
        let frozen = try model.attribute(Attribution(target: .outputIndex([1, 0]), layers: ["fc2"]), input: x)
        #expect(isClose(frozen["input_grad"]!, tracked["input_grad"]!, tolerance: 0))
        #expect(frozen["grad:fc2"]!.toArray() == [0, 0, 0, 1, 0, 0, 0, 0, 0])
    }

    @Test func integerInputsGetLayerGradientsThroughLeafActivations() throws {
        let model = TokenClassifier().eval()
        model.requiresGrad(false)  // nothing before the embedding's output is tracked
        let ids = Tensor(shape: [1, 3], elements: [Int64(1), 5, 5])
        let result = try model.attribute(Attribution(target: .classIndex(1), layers: ["embedding"]), inputs: ["input_ids": ids]) {
            try model($0["input_ids"]!)
        }
        #expect(result.names == ["grad:embedding"])
        // ∂ head(mean_t e_t)[1] / ∂ e_t = W[1, :] / 3 for every token.
        let row = model.head.weight.value.selecting(axis: 0, index: 1) / 3
        #expect(isClose(result["grad:embedding"]!, row.broadcast(to: [1, 3, 4]), tolerance: 1e-6))
        #expect(throws: AttributionError.noDifferentiableInput(inputs: ["input_ids"])) {
            _ = try model.attribute(Attribution(target: .classIndex(1)), inputs: ["input_ids": ids]) { try model($0["input_ids"]!) }
        }
        #expect(model.hookCount == 0)
    }

    @Test func everyCallOfARepeatedModuleAndSeveralInputsAreNamed() throws {
        let repeated = withRandomSeed(3) { Repeated() }
        let result = try repeated.attribute(Attribution(target: .classIndex(0), layers: ["twice*"]), input: randomTensor([1, 3], seed: 4))
        #expect(result.names == ["input_grad", "grad:twice", "grad:twice_1"])

        let two = withRandomSeed(5) { TwoInputs() }
        let inputs = ["a": randomTensor([1, 2], seed: 6), "b": randomTensor([1, 3], seed: 7)]
        let both = try two.attribute(Attribution(target: .classIndex(1)), inputs: inputs) { try two($0["a"]!, $0["b"]!) }
        #expect(both.names == ["input_grad:a", "input_grad:b"])
        #expect(both["input_grad:b"]?.shape == [1, 3])
    }

    @Test func aTargetLayerServesTheTargetOnlyUnlessRequested() throws {
        let model = mlp().eval()
        let x = randomTensor([2, 4], seed: 8)
        let plain = try model.attribute(Attribution(target: .layerNorm(layer: "act")), input: x)
        #expect(plain.names == ["input_grad"])
        let withLayer = try model.attribute(Attribution(target: .layerNorm(layer: "act"), layers: ["act"]), input: x)
        #expect(withLayer.names == ["input_grad", "grad:act"])
        // ∂ Σ_n ‖a_n‖ / ∂ a_n = a_n / ‖a_n‖.
        let activation = try GradMode.withDisabled { try model[1](model[0](x)) }
        #expect(isClose(withLayer["grad:act"]!, activation.l2Normalized(axis: 1), tolerance: 1e-6))
    }

    /// PyTorch's `activation.flatten(1).norm(dim=1)` has gradient 0 where a sample's activation
    /// is all zeros (`torch.linalg.vector_norm`'s backward), not the NaN of √(Σ a²) composed.
    @Test func aZeroActivationUnderTheLayerNormTargetHasZeroGradient() throws {
        let model = withRandomSeed(13) { Sequential(named: [("act", ReLU()), ("fc", Linear(inFeatures: 4, outFeatures: 3))]) }.eval()
        // Sample 0 is all negative: its ReLU output is zero.
        let x = Tensor(shape: [2, 4], scalars: [-1, -2, -0.5, -3, 0.6, -1, 0.8, 2.4])
        let result = try model.attribute(Attribution(target: .layerNorm(layer: "act"), layers: ["act"]), input: x)
        // ∂‖a_n‖/∂a_n = a_n/‖a_n‖ = [0.6, 0, 0.8, 2.4]/2.6, and 0 for the zero sample.
        let expected = Tensor(shape: [2, 4], scalars: [0, 0, 0, 0, 0.6 / 2.6, 0, 0.8 / 2.6, 2.4 / 2.6])
        #expect(isClose(result["grad:act"]!, expected, tolerance: 1e-6))
        #expect(isClose(result["input_grad"]!, expected, tolerance: 1e-6))  // the ReLU passes it where x > 0
        #expect(result.allSatisfy { $0.tensor.toArray().allSatisfy(\.isFinite) })
    }

    @Test func badRequestsFailClearlyAndLeaveNoHooks() throws {
        let model = mlp().eval()
        let x = randomTensor([2, 4], seed: 9)
        #expect(throws: AttributionError.invalidTarget(.classIndex(3), reason: "class 3 is out of range for output [2, 3] (0..<3)")) {
            _ = try model.attribute(Attribution(target: .classIndex(3), layers: ["fc1"]), input: x)
        }
        #expect(throws: AttributionError.self) { _ = try model.attribute(Attribution(target: .outputIndex([1])), input: x) }
        #expect(throws: AttributionError.self) { _ = try model.attribute(Attribution(target: .outputIndex([2, 0])), input: x) }
        #expect(throws: AttributionError.noLayers) { _ = try model.attribute(Attribution(target: .classIndex(0), method: .gradcam), input: x) }
        #expect(throws: AttributionError.notSpatial(layer: "fc1", shape: [2, 6])) {
            _ = try model.attribute(Attribution(target: .classIndex(0), method: .gradcam, layers: ["fc1"]), input: x)
        }
        #expect(throws: CaptureError.self) { _ = try model.attribute(Attribution(target: .classIndex(0), layers: ["fc3"]), input: x) }
        // An unknown target layer is an unknown layer, with the closest names.
        #expect(throws: CaptureError.self) { _ = try model.attribute(Attribution(target: .layerNorm(layer: "nope")), input: x) }
        let failing = Sequential(Linear(inFeatures: 4, outFeatures: 4), Failing())
        #expect(throws: Failing.Failure.self) {
            _ = try failing.attribute(Attribution(target: .classIndex(0), layers: ["0"]), input: x)
        }
        #expect(model.hookCount == 0 && failing.hookCount == 0)
    }

    @Test func gradCAMOnAConvolutionalLayerMatchesTheDefinition() throws {
        let model = withRandomSeed(11) { MiniResNet(widths: [4, 4, 8, 8], classCount: 3) }.eval()
        let x = randomTensor([2, 3, 32, 32], seed: 12)
        let saliency = try model.attribute(Attribution(target: .classIndex(1), layers: ["layer3"]), input: x)
        let cam = try model.attribute(Attribution(target: .classIndex(1), method: .gradcam, layers: ["layer3"]), input: x)
        #expect(cam.names == ["gradcam:layer3"])
        let activation = try model.captureFeatures(layers: ["layer3"]) { try model(x) }["layer3"]!
        let expected = GradCAM.map(activation: activation, gradient: saliency["grad:layer3"]!, inputSize: (32, 32))
        #expect(cam["gradcam:layer3"]?.shape == [2, 1, 32, 32])
        #expect(isClose(cam["gradcam:layer3"]!, expected, tolerance: 1e-6))
    }
}
