import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// Attention rollout on the fixture transformers against the reference computed from PyTorch's own
// attention probabilities (Tests/Fixtures/gradients/rollout.safetensors,
// scripts/fixtures/make_cam_fixtures.py rollout): the class token's row, raw, on the patch grid for
// ViT, DINOv2 (with and without registers, square and interpolated 35 × 22) and CLIP's image tower,
// per token for BERT and all-MiniLM-L6-v2 (padding zero), for every head fusion with and without
// discarding, within 1e-4 of the largest value. Also: the map's post-processing, no hooks left
// after a failure, and models without self-attention refused.

private let references = Loaded { try SafetensorsFile(contentsOf: Fixtures.url("gradients/rollout.safetensors")) }

@Suite struct AttentionRolloutTests {
    /// The reference's cases: (fusion, discard ratio), named `<model>.<fusion>[.discard<r>]`.
    static let cases: [(fusion: AttentionRolloutOptions.HeadFusion, ratio: Double)] = [
        (.mean, 0), (.max, 0), (.min, 0), (.mean, 0.5), (.max, 0.9),
    ]

    private static var dinov2: Loaded<LoadedModel> { AttentionHooksTests.dinov2 }
    private static var dinov2Registers: Loaded<LoadedModel> { AttentionHooksTests.dinov2Registers }
    private static var clip: Loaded<LoadedModel> { AttentionHooksTests.clip }

    /// The rollout map of `model` on `inputs` for every case, each within 1e-4 × the reference's
    /// largest value of `<prefix>.<case>`; prints the largest relative deviation.
    static func expectParity(_ model: LoadedModel, inputs: [String: Tensor], prefix: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let replica = try model.makeReplica()
        var worst: Float = 0
        for (fusion, ratio) in cases {
            let name = "\(prefix).\(fusion.rawValue)" + (ratio > 0 ? ".discard\(ratio)" : "")
            let request = Attribution.attentionRollout(AttentionRolloutOptions(headFusion: fusion, discardRatio: ratio),
                                                       gradCAM: GradCAMOptions(upsampleToInput: false))
            let maps = try replica.attribute(request, inputs: inputs)
            #expect(maps.names == [Attribution.attentionRolloutKey], sourceLocation: sourceLocation)
            let actual = try #require(maps[Attribution.attentionRolloutKey], sourceLocation: sourceLocation)
            let expected = try references.get().tensor(named: name)
            let gap = try #require(difference(actual, expected), "\(name): \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
            let relative = gap.maxAbsoluteError / gap.referenceMaxMagnitude
            #expect(gap.referenceMaxMagnitude > 0 && relative <= 1e-4, "\(name): \(gap)", sourceLocation: sourceLocation)
            worst = max(worst, relative)
        }
        #expect(replica.module.hookCount == 0, sourceLocation: sourceLocation)
        print("attention rollout \(prefix): max relative deviation \(worst) over \(cases.count) cases")
    }

    // MARK: - Parity with PyTorch

    @Test func vitMatchesTheReference() async throws {
        try await onDedicatedThread {
            try Self.expectParity(try VisionTransformerTests.fixtureModel(), inputs: ["input": try VisionTransformerTests.fixtureInput()], prefix: "vit")
        }
    }

    @Test func dinov2MatchesTheReference() async throws {
        try await onDedicatedThread {
            let inputs = try SafetensorsFile(contentsOf: Fixtures.url("dinov2_tiny/input.safetensors"))
            try Self.expectParity(try Self.dinov2.get(), inputs: ["input": try inputs.tensor(named: "input")], prefix: "dinov2")
            // 35 × 22: position embeddings interpolated, a 5 × 3 grid.
            try Self.expectParity(try Self.dinov2.get(), inputs: ["input": try inputs.tensor(named: "wide/input")], prefix: "dinov2_wide")
        }
    }

    /// Two register tokens after the class token: left out of the grid, but part of the rollout.
    @Test func dinov2WithRegistersMatchesTheReference() async throws {
        try await onDedicatedThread {
            let inputs = try SafetensorsFile(contentsOf: Fixtures.url("dinov2_registers_tiny/input.safetensors"))
            try Self.expectParity(try Self.dinov2Registers.get(), inputs: ["input": try inputs.tensor(named: "input")], prefix: "dinov2_registers")
        }
    }

    @Test func clipImageTowerMatchesTheReference() async throws {
        try await onDedicatedThread {
            try Self.expectParity(try Self.clip.get(), inputs: ["pixel_values": try CLIPTests.inputs().tensor(named: "pixel_values")], prefix: "clip")
        }
    }

    /// bert_tiny's first text has 6 real tokens of 16: its padding is left out (zero in the map).
    @Test func bertMatchesTheReferenceWithPaddingLeftOut() async throws {
        try await onDedicatedThread {
            let inputs = try BERTTests.fixtureInputs()
            try Self.expectParity(try BERTTests.fixtureModel(), inputs: inputs, prefix: "bert")
            let map = try BERTTests.fixtureModel().makeReplica().attribute(.attentionRollout(), inputs: inputs)[Attribution.attentionRolloutKey]
            let row = try #require(map).selecting(axis: 0, index: 0).toArray()
            #expect(row[6...].allSatisfy { $0 == 0 } && row[..<6].allSatisfy { $0 > 0 })
            // The same text without padding: the same map over its tokens.
            let alone = try BERTTests.fixtureModel().makeReplica().attribute(.attentionRollout(), inputs: [
                "input_ids": inputs["input_ids"]!.selecting(axis: 0, index: 0).sliced(axis: 0, 0..<6).unsqueezed(axis: 0),
            ])[Attribution.attentionRolloutKey]
            #expect(isClose(try #require(alone), Tensor(shape: [1, 6], scalars: Array(row[..<6])), tolerance: 1e-6))
        }
    }

    @Test func miniLMMatchesTheReference() async throws {
        try await onDedicatedThread {
            let model = try MiniLMTests.model()
            let expected = try ArchitectureFixtures.expected("minilm")
            let inputs = ["input_ids": try expected.tensor(named: "input_ids"), "attention_mask": try expected.tensor(named: "attention_mask")]
            try Self.expectParity(model, inputs: inputs, prefix: "minilm")
        }
    }

    // MARK: - The map

    /// Upsampled (the default), the ViT map is the grid map interpolated bilinearly to the image;
    /// min-max normalized, it spans [0, 1] per image.
    @Test func vitMapIsUpsampledAndNormalizedAsGradCAM() async throws {
        try await onDedicatedThread {
            let replica = try VisionTransformerTests.fixtureModel().makeReplica()
            let inputs = ["input": try VisionTransformerTests.fixtureInput()]
            let key = Attribution.attentionRolloutKey
            let grid = try #require(try replica.attribute(.attentionRollout(gradCAM: GradCAMOptions(upsampleToInput: false)), inputs: inputs)[key])
            let upsampled = try #require(try replica.attribute(.attentionRollout(), inputs: inputs)[key])
            #expect(upsampled.shape == [2, 1, 32, 32])
            #expect(isClose(upsampled, grid.interpolateBilinear(size: (32, 32), alignCorners: false), tolerance: 1e-6))
            let normalized = try #require(try replica.attribute(.attentionRollout(gradCAM: GradCAMOptions(normalization: .minMax, upsampleToInput: false)),
                                                                inputs: inputs)[key])
            for sample in 0..<2 {
                let values = normalized.selecting(axis: 0, index: sample).toArray()
                #expect(abs(values.min()! - 0) < 1e-6 && abs(values.max()! - 1) < 1e-5)
            }
        }
    }

    /// A forward pass that throws midway leaves no attention hook behind.
    @Test func rolloutLeavesNoHooksWhenTheForwardPassFails() async throws {
        struct Failure: Error {}
        try await onDedicatedThread {
            let replica = try BERTTests.fixtureModel().makeReplica()
            let failing = try #require(replica.module.module(at: "encoder.layer.1")).registerForwardPreHook { _, _ in throw Failure() }
            #expect(throws: Failure.self) { _ = try replica.attribute(.attentionRollout(), inputs: try BERTTests.fixtureInputs()) }
            #expect(replica.module.hookCount == 1)
            failing.remove()
            #expect(try replica.attribute(.attentionRollout(), inputs: try BERTTests.fixtureInputs()).names == [Attribution.attentionRolloutKey])
            #expect(replica.module.hookCount == 0)
        }
    }

    // MARK: - Refusals

    /// Models without self-attention are refused before running, naming the method and why; so is
    /// CLIP's text tower (causal, pooled at the end-of-text token), before and at run time.
    @Test func modelsWithoutSelfAttentionAreRefused() async throws {
        try await onDedicatedThread {
            let resnet = try ResNetTests.fixtureModel()
            #expect {
                _ = try resnet.resolveAttribution(.attentionRollout(), in: try ResNetTests.catalog.get())
            } throws: { error in
                guard case AttributionError.unsupportedModel(.attentionRollout, let reason) = error else { return false }
                return reason.contains("transformer") && reason.contains("resnet") && "\(error)".hasPrefix("attention_rollout ")
            }
            let mlp = try MLPTests.fixtureModel().0
            #expect(throws: AttributionError.self) { _ = try mlp.makeReplica().attribute(.attentionRollout(), inputs: ["input": randomTensor([2, 8], seed: 1)]) }

            let clip = try Self.clip.get()
            let inputs = try CLIPTests.inputs()
            let text = ["input_ids": try inputs.tensor(named: "input_ids"), "attention_mask": try inputs.tensor(named: "attention_mask")]
            let replica = try clip.makeReplica()
            #expect {
                _ = try clip.resolveAttribution(.attentionRollout(), in: try replica.traceLayers(inputs: text))
            } throws: { "\($0)".contains("needs an image") }
            #expect { _ = try replica.attribute(.attentionRollout(), inputs: text, catalog: LayerCatalog(moduleTreeOf: replica.module)) } throws: {
                "\($0)".contains("needs an image")
            }
            // A module tree without attention modules, through the NN-level call.
            let plain = Sequential([Linear(inFeatures: 4, outFeatures: 2)])
            #expect(throws: AttributionError.unsupportedModel(.attentionRollout, reason: "needs a transformer: no self-attention layer of this model ran")) {
                _ = try plain.attribute(.attentionRollout(), input: randomTensor([1, 4], seed: 2))
            }
        }
    }

    /// The gradient methods still need a target.
    @Test func gradientMethodsWithoutATargetAreRefused() async throws {
        try await onDedicatedThread {
            let model = try ResNetTests.fixtureModel()
            #expect(throws: AttributionError.noTarget(.gradcam)) {
                _ = try model.resolveAttribution(Attribution(target: nil, method: .gradcam, layers: ["layer4"]), in: try ResNetTests.catalog.get())
            }
        }
    }
}
