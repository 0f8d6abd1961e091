import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct CLIPTests {
    private static let tiny = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("clip_tiny")) }

    static func inputs() throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: Fixtures.url("clip_tiny/input.safetensors"))
    }

    @Test func keysAndTreeMatchTransformers() async throws {
        try await onDedicatedThread {
            let module = try ArchitectureFixtures.module(try Self.tiny.get().architecture)
            ArchitectureFixtures.expectStateDict(of: module, matches: "clip_tiny")
            #expect(module.description == ArchitectureFixtures.references["clip_tiny"]?.repr)
        }
    }

    /// Both towers in one call: every module's output, the projections as `image_embeds` /
    /// `text_embeds`, and `logits_per_image` as the output.
    @Test func everyLayerOfBothTowersMatchesTransformers() async throws {
        try await onDedicatedThread {
            let replica = try Self.tiny.get().makeReplica()
            let expected = try ArchitectureFixtures.expected("clip_tiny")
            let file = try Self.inputs()
            let inputs = ["pixel_values": try file.tensor(named: "pixel_values"), "input_ids": try file.tensor(named: "input_ids"),
                          "attention_mask": try file.tensor(named: "attention_mask")]
            let catalog = try replica.traceLayers(inputs: inputs)
            let names = expected.names.filter { !$0.contains("/") }
            #expect(Set(catalog.names + ["output", "image_embeds", "text_embeds"]) == Set(names))
            let features = try replica.extractFeatures(layers: names.map { .name($0) }, inputs: inputs, catalog: catalog)
            let worst = try ArchitectureFixtures.expectParity(features, expected, names: names)
            print("clip_tiny: max scaled error \(worst) over \(names.count) layers")
        }
    }

    /// One tower per request: images alone give image embeddings, texts alone text embeddings, and
    /// a layer of the other tower is refused as not produced.
    @Test func eachTowerRunsAlone() async throws {
        try await onDedicatedThread {
            let replica = try Self.tiny.get().makeReplica()
            let expected = try ArchitectureFixtures.expected("clip_tiny")
            let file = try Self.inputs()
            let image = try replica.forward(inputs: ["pixel_values": try file.tensor(named: "pixel_values")])
            let imageError = try #require(difference(image, try expected.tensor(named: "image_embeds")))
            #expect(imageError.scaledError <= 1e-4, "\(imageError)")
            let text = try replica.forward(inputs: ["input_ids": try file.tensor(named: "input_ids"), "attention_mask": try file.tensor(named: "attention_mask")])
            let textError = try #require(difference(text, try expected.tensor(named: "text_embeds")))
            #expect(textError.scaledError <= 1e-4, "\(textError)")
            #expect(throws: CaptureError.self) {
                _ = try replica.extractFeatures(layers: [.name("text_embeds")], inputs: ["pixel_values": try file.tensor(named: "pixel_values")],
                                                catalog: try replica.traceLayers())
            }
            #expect { _ = try replica.forward(inputs: [:]) } throws: { "\($0)".contains("pixel_values") }
        }
    }

    /// `eos_token_id` 2 (configurations from before transformers' PR #24773) pools at the largest id.
    @Test func legacyEOSPoolsAtTheLargestId() async throws {
        try await onDedicatedThread {
            let model = try Self.tiny.get()
            guard case .clip(var configuration) = model.architecture else { Issue.record("not a CLIP"); return }
            configuration.eosTokenId = 2
            let legacy = try LoadedModel(name: "clip", architecture: .clip(configuration), stateDict: model.weights, imagePreprocessing: nil,
                                         tokenizer: nil, seed: 0)
            let file = try Self.inputs()
            let text = try legacy.makeReplica().forward(inputs: ["input_ids": try file.tensor(named: "input_ids"),
                                                                 "attention_mask": try file.tensor(named: "attention_mask")])
            let measured = try #require(difference(text, try ArchitectureFixtures.expected("clip_tiny").tensor(named: "legacy/text_embeds")))
            #expect(measured.scaledError <= 1e-4, "\(measured)")
        }
    }

    /// Grad-CAM of image_embeds[:, 3] on a vision block's tokens, read on the 4 × 4 patch grid with the
    /// class token left out, and the gradient of text_embeds[:, 3] with respect to the text tower's
    /// token embeddings (its `inputs_embeds`), against autograd.
    @Test func attributionsMatchAutograd() async throws {
        try await onDedicatedThread {
            let replica = try Self.tiny.get().makeReplica()
            let expected = try ArchitectureFixtures.expected("clip_tiny")
            let file = try Self.inputs()
            let layer = "vision_model.encoder.layers.1.layer_norm1"
            let cam = try replica.attribute(Attribution(target: .classIndex(3), method: .gradcam, layers: [.name(layer)],
                                                        gradCAM: GradCAMOptions(normalization: .minMax, upsampleToInput: false)),
                                            inputs: ["pixel_values": try file.tensor(named: "pixel_values")])
            let map = try #require(cam[Attribution.classActivationMapKey(.gradcam, layer: layer)], "\(cam.names)")
            let camGap = try #require(difference(map, try expected.tensor(named: "gradcam/\(layer)")))
            #expect(camGap.maxAbsoluteError <= 1e-4, "\(camGap)")

            let saliency = try replica.attribute(Attribution(target: .classIndex(3), method: .saliency, layers: []),
                                                 inputs: ["input_ids": try file.tensor(named: "input_ids"),
                                                          "attention_mask": try file.tensor(named: "attention_mask")])
            let key = Attribution.inputGradientKey(input: "input_ids", only: true)
            let gradient = try #require(saliency[key], "\(saliency.names)")
            let gap = try #require(difference(gradient, try expected.tensor(named: "saliency/input_ids")))
            #expect(gap.scaledError <= 1e-4, "\(gap)")
        }
    }

    @Test func checkpointPositionIdsAreSetAside() throws {
        var state = StateDict()
        state["vision_model.embeddings.position_ids"] = Tensor(zeros: [1, 50], dtype: .int64)
        state["logit_scale"] = Tensor(shape: [], scalars: [1])
        let normalized = CLIPModel.normalizeWeights(state)
        #expect(normalized.ignored == ["vision_model.embeddings.position_ids"])
        #expect(normalized.weights.keys == ["logit_scale"])
    }

    @Test func configurationErrorsNameTheNestedField() throws {
        #expect { _ = try ArchitectureRegistry.architecture(named: "clip", configuration: Data(#"{"text_config": {"hidden_size": 30, "num_attention_heads": 4}}"#.utf8)) }
            throws: { "\($0)".contains("text_config.hidden_size") }
        #expect { _ = try ArchitectureRegistry.architecture(named: "clip", configuration: Data(#"{"vision_config": {"patch_size": 0}}"#.utf8)) }
            throws: { "\($0)".contains("vision_config.patch_size") }
        #expect { _ = try ArchitectureRegistry.architecture(named: "clip", configuration: Data(#"{"vision_config": {"hidden_act": "mish"}}"#.utf8)) }
            throws: { "\($0)".contains("vision_config.hidden_act") }
        let defaults = try ArchitectureRegistry.architecture(named: "clip", configuration: nil)
        #expect(defaults == .clip(CLIPModel.Configuration()))
    }
}
