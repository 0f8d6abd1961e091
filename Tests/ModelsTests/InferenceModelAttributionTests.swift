import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// `InferenceModel.attribute` (InferenceModel+Attribution.swift) on the model zoo's own ResNet, ViT
// and BERT built from the fixtures, against PyTorch autograd (Tests/Fixtures/gradients, written
// by scripts/fixtures/make_gradient_fixtures.py) within 1e-4 of the reference's largest
// magnitude — with the parameters requiring grad (as replicas are built) and frozen (which lets
// the fused inference paths run while recording) — and the replica contract: no hooks, no
// parameter gradients, shared weights untouched, also on error and across threads.

private enum GradientReferences {
    static let file = Loaded { try SafetensorsFile(contentsOf: Fixtures.url("gradients/gradients.safetensors")) }

    static func tensor(_ name: String) throws -> Tensor { try file.get().tensor(named: name) }
}

/// Expects `result` to hold exactly `keys` (in order), each matching `<prefix>.<key>` of the
/// references within 1e-4; returns the largest relative error.
@discardableResult
private func expectMatches(_ result: CapturedFeatures, prefix: String, keys: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> Float {
    #expect(result.names == keys, sourceLocation: sourceLocation)
    var worst: Float = 0
    for key in keys {
        let error = relativeError(result[key], try GradientReferences.tensor("\(prefix).\(key)"))
        #expect(error <= 1e-4, "\(prefix).\(key): relative error \(error)", sourceLocation: sourceLocation)
        worst = max(worst, error)
    }
    return worst
}

/// A replica of `model`, its parameters frozen (requiresGrad = false) when asked.
private func replica(_ model: LoadedModel, frozen: Bool) throws -> InferenceModel {
    let replica = try model.makeReplica()
    if frozen { replica.module.requiresGrad(false) }
    return replica
}

@Suite struct InferenceModelAttributionTests {
    // MARK: - Parity with PyTorch

    @Test(arguments: [false, true])
    func resnetMatchesPyTorch(frozen: Bool) throws {
        let replica = try replica(ResNetTests.fixtureModel(), frozen: frozen)
        let inputs = ["input": try ResNetTests.fixtureInput()]
        let catalog = try ResNetTests.catalog.get()
        // Frozen parameters let conv+BN+ReLU run as one packed convolution while recording (its
        // input gradient is what this test checks); tracked parameters take the plain ops.
        let conv = try #require(replica.module.module(at: "layer2.0.conv1") as? Conv2d)
        let bn = try #require(replica.module.module(at: "layer2.0.bn1") as? BatchNorm2d)
        #expect(GradMode.withEnabled { conv.canFuse(batchNorm: bn, relu: replica.module.module(at: "layer2.0.relu")) } == frozen)

        var worst: Float = 0
        let saliency = try replica.attribute(Attribution(target: .classIndex(7), layers: ["layer3", "layer4", "layer1.0.relu_1"]),
                                             inputs: inputs, catalog: catalog)
        worst = max(worst, try expectMatches(saliency, prefix: "resnet.class7",
                                             keys: ["input_grad", "grad:layer1.0.relu_1", "grad:layer3", "grad:layer4"]))
        let cam = try replica.attribute(Attribution(target: .classIndex(7), method: .gradcam, layers: ["layer4", "layer3"]),
                                        inputs: inputs, catalog: catalog)
        worst = max(worst, try expectMatches(cam, prefix: "resnet.class7", keys: ["gradcam:layer3", "gradcam:layer4"]))
        let normalized = try replica.attribute(Attribution(target: .classIndex(7), method: .gradcam, layers: ["layer4"],
                                                           gradCAM: GradCAMOptions(normalization: .minMax)),
                                               inputs: inputs, catalog: catalog)
        let minMax = relativeError(normalized["gradcam:layer4"], try GradientReferences.tensor("resnet.class7.gradcam_minmax:layer4"))
        #expect(minMax <= 1e-4)
        let norm = try replica.attribute(Attribution(target: .layerNorm(layer: "layer3")), inputs: inputs, catalog: catalog)
        worst = max(worst, minMax, try expectMatches(norm, prefix: "resnet.layer3_l2", keys: ["input_grad"]))
        let element = try replica.attribute(Attribution(target: .outputIndex([1, 42])), inputs: inputs, catalog: catalog)
        worst = max(worst, try expectMatches(element, prefix: "resnet.index_1_42", keys: ["input_grad"]))
        print("resnet_basic_1111 attribution (frozen: \(frozen)): max relative error \(worst)")
        #expect(replica.module.hookCount == 0)
        #expect(replica.module.parameters().allSatisfy { $0.grad == nil })
    }

    @Test(arguments: [false, true])
    func vitMatchesPyTorch(frozen: Bool) throws {
        let replica = try replica(VisionTransformerTests.fixtureModel(), frozen: frozen)
        let inputs = ["input": try VisionTransformerTests.fixtureInput()]
        let layers: [LayerSelector] = ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1", "conv_proj"]
        var worst: Float = 0
        let result = try replica.attribute(Attribution(target: .classIndex(3), layers: layers), inputs: inputs)
        worst = max(worst, try expectMatches(result, prefix: "vit.class3", keys: [
            "input_grad", "grad:conv_proj", "grad:encoder.layers.encoder_layer_0", "grad:encoder.layers.encoder_layer_1",
        ]))
        let cam = try replica.attribute(Attribution(target: .classIndex(3), method: .gradcam, layers: ["conv_proj"]), inputs: inputs)
        worst = max(worst, try expectMatches(cam, prefix: "vit.class3", keys: ["gradcam:conv_proj"]))
        let element = try replica.attribute(Attribution(target: .outputIndex([0, 5])), inputs: inputs)
        worst = max(worst, try expectMatches(element, prefix: "vit.index_0_5", keys: ["input_grad"]))
        let norm = try replica.attribute(Attribution(target: .layerNorm(layer: "encoder.layers.encoder_layer_0")), inputs: inputs)
        worst = max(worst, try expectMatches(norm, prefix: "vit.layer0_l2", keys: ["input_grad"]))
        print("vit_tiny attribution (frozen: \(frozen)): max relative error \(worst)")
        #expect(replica.module.hookCount == 0)
        #expect(replica.module.parameters().allSatisfy { $0.grad == nil })
    }

    /// Token ids are integers: `input_grad` is the gradient with respect to the word embeddings'
    /// output (PyTorch: `inputs_embeds`), with the padded attention mask of the fixture.
    @Test(arguments: [false, true])
    func bertMatchesPyTorch(frozen: Bool) throws {
        let replica = try replica(BERTTests.fixtureModel(), frozen: frozen)
        let inputs = try BERTTests.fixtureInputs()
        var worst: Float = 0
        // The target layer by its alias: pooler_output is the pooler's output.
        let norm = try replica.attribute(Attribution(target: .layerNorm(layer: "pooler_output"),
                                                     layers: ["embeddings", "encoder.layer.0"]), inputs: inputs)
        worst = max(worst, try expectMatches(norm, prefix: "bert.pooler_l2", keys: ["input_grad", "grad:embeddings", "grad:encoder.layer.0"]))
        let element = try replica.attribute(Attribution(target: .outputIndex([1, 3, 5]), layers: ["encoder.layer.1.attention"]),
                                            inputs: inputs)
        worst = max(worst, try expectMatches(element, prefix: "bert.index_1_3_5", keys: ["input_grad", "grad:encoder.layer.1.attention"]))
        print("bert_tiny attribution (frozen: \(frozen)): max relative error \(worst)")
        #expect(replica.module.hookCount == 0)
        #expect(replica.module.parameters().allSatisfy { $0.grad == nil })
    }

    // MARK: - Names

    @Test func bertAliasesNameTheMapsAsRequested() throws {
        let replica = try BERTTests.fixtureModel().makeReplica()
        let inputs = try BERTTests.fixtureInputs()
        let result = try replica.attribute(Attribution(target: .outputIndex([1, 3, 5]),
                                                       layers: ["last_hidden_state", "pooler_output", "embeddings.word_embeddings"]),
                                           inputs: inputs)
        #expect(result.names == ["input_grad", "grad:embeddings.word_embeddings", "grad:pooler_output", "grad:last_hidden_state"])
        // The target is one element of last_hidden_state; the pooler is not on its path.
        var oneHot = [Float](repeating: 0, count: 2 * 16 * 32)
        oneHot[(1 * 16 + 3) * 32 + 5] = 1
        #expect(result["grad:last_hidden_state"]?.toArray() == oneHot)
        #expect(result["grad:pooler_output"]?.toArray().allSatisfy { $0 == 0 } == true)
        // input_grad is the word embeddings' gradient, under both names when both are asked for.
        #expect(result["input_grad"]?.toArray() == result["grad:embeddings.word_embeddings"]?.toArray())
        #expect(result["input_grad"]?.shape == [2, 16, 32])
    }

    // MARK: - The replica contract

    /// Weights are shared with other replicas: attribution reads them and leaves their storage,
    /// values, `grad`, the packed inference weights and the graph count as they were.
    @Test func attributionLeavesSharedWeightsAndGradientsAlone() throws {
        let model = try ResNetTests.fixtureModel()
        let input = try ResNetTests.fixtureInput()
        let other = try model.makeReplica(), replica = try model.makeReplica()
        let before = try other.forward(inputs: ["input": input]).toArray()
        let weights = other.module.namedParameters().map { ($0.name, $0.parameter.value, $0.parameter.value.toArray()) }
        let nodes = GradientNode.liveCountCreatedOnThisThread
        let catalog = try ResNetTests.catalog.get()

        for request in [Attribution(target: .classIndex(7), layers: ["layer1", "layer4.0.bn2"]),
                        Attribution(target: .layerNorm(layer: "layer2"), method: .gradcam, layers: ["layer3"])] {
            _ = try replica.attribute(request, inputs: ["input": input], catalog: catalog)
        }
        #expect(GradientNode.liveCountCreatedOnThisThread == nodes)
        #expect(replica.module.hookCount == 0)
        for ((name, parameter), (otherName, shared, values)) in zip(replica.module.namedParameters(), weights) {
            #expect(name == otherName)
            #expect(parameter.grad == nil, "\(name)")
            #expect(parameter.requiresGrad, "\(name)")
            #expect(parameter.value.storage === shared.storage, "\(name)")
            #expect(shared.toArray() == values, "\(name)")
        }
        // Both replicas still compute the same (unhooked, fused) forward.
        #expect(try replica.forward(inputs: ["input": input]).toArray() == before)
        #expect(try other.forward(inputs: ["input": input]).toArray() == before)
    }

    @Test func noHooksRemainWhenAnAttributionFails() throws {
        let bert = try BERTTests.fixtureModel().makeReplica()
        let badIds: [String: Tensor] = ["input_ids": Tensor(shape: [1, 2], elements: [Int64(1), 99_999])]
        #expect(throws: ModelError.self) {
            _ = try bert.attribute(Attribution(target: .layerNorm(layer: "pooler"), layers: ["encoder.layer.0"]), inputs: badIds)
        }
        #expect(bert.module.hookCount == 0)

        let resnet = try ResNetTests.fixtureModel().makeReplica()
        let input = try ResNetTests.fixtureInput()
        // The batch axis is checked when the model runs: sample 5 of a batch of 2.
        #expect(throws: AttributionError.invalidTarget(.outputIndex([5, 0]),
                                                       reason: "index 5 on axis 0 is out of range for output [2, 1000]")) {
            _ = try resnet.attribute(Attribution(target: .outputIndex([5, 0]), layers: ["layer2"]), inputs: ["input": input])
        }
        #expect(resnet.module.hookCount == 0)
        #expect(throws: ModelError.self) {
            _ = try resnet.attribute(Attribution(target: .classIndex(0), layers: ["layer2"]),
                                     inputs: ["input": Tensor(zeros: [1, 4, 32, 32])])
        }
        #expect(resnet.module.hookCount == 0)
        // The replica still works.
        let cam = try resnet.attribute(Attribution(target: .classIndex(0), method: .gradcam, layers: ["layer2"]), inputs: ["input": input])
        #expect(cam["gradcam:layer2"]?.shape == [2, 1, 64, 64])
    }

    /// Workers attribute on their own replicas at the same time as others run forward passes on
    /// theirs: every result equals the one computed alone.
    @Test func replicasAttributeOnTheirOwnThreads() async throws {
        let model = try VisionTransformerTests.fixtureModel()
        let input = try VisionTransformerTests.fixtureInput()
        let request = Attribution(target: .classIndex(3), layers: ["encoder.layers.encoder_layer_1"])
        let reference = try model.makeReplica().attribute(request, inputs: ["input": input])
        let logits = try model.makeReplica().forward(inputs: ["input": input]).toArray()
        let results = try await withThrowingTaskGroup(of: (CapturedFeatures?, [Float]?).self) { group in
            for worker in 0..<4 {
                group.addTask {
                    try await onThread {
                        let replica = try model.makeReplica()
                        var last: (CapturedFeatures?, [Float]?) = (nil, nil)
                        for _ in 0..<3 {
                            last = worker.isMultiple(of: 2) ? (try replica.attribute(request, inputs: ["input": input]), nil)
                                                            : (nil, try replica.forward(inputs: ["input": input]).toArray())
                        }
                        return last
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4)
        for (maps, output) in results {
            if let maps {
                #expect(maps.names == reference.names)
                for (name, tensor) in reference { #expect(maps[name]?.toArray() == tensor.toArray(), "\(name)") }
            }
            if let output { #expect(output == logits) }
        }
    }
}
