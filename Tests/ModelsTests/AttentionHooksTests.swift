import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// The attention layers of ViT (torch's MultiheadAttention), DINOv2, BERT and CLIP under attention
// hooks: their unfused paths give the fused paths' outputs and report softmax probabilities, and the
// hooks are gone afterwards, also after a failure.

@Suite struct AttentionHooksTests {
    static let dinov2 = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_tiny")) }
    static let dinov2Registers = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_registers_tiny")) }
    static let clip = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("clip_tiny")) }

    /// With attention hooks every attention layer takes its unfused path: the model's output is the
    /// fused path's, each layer reports [N, heads, T, T] probabilities whose rows sum to 1, and
    /// padded keys get none. No hook is left behind.
    @Test(arguments: ["vit", "dinov2", "dinov2_registers", "bert", "clip_image", "clip_text"])
    func unfusedPathsGiveTheFusedOutputs(model name: String) async throws {
        try await onDedicatedThread {
            let clip = try CLIPTests.inputs()
            func image(_ folder: String) throws -> [String: Tensor] {
                ["input": try SafetensorsFile(contentsOf: Fixtures.url(folder + "/input.safetensors")).tensor(named: "input")]
            }
            let (model, inputs, layers, heads, tokens): (LoadedModel, [String: Tensor], Int, Int, Int) = switch name {
            case "vit": (try VisionTransformerTests.fixtureModel(), ["input": try VisionTransformerTests.fixtureInput()], 2, 2, 17)
            case "dinov2": (try Self.dinov2.get(), try image("dinov2_tiny"), 2, 4, 17)
            case "dinov2_registers": (try Self.dinov2Registers.get(), try image("dinov2_registers_tiny"), 2, 4, 19)
            case "bert": (try BERTTests.fixtureModel(), try BERTTests.fixtureInputs(), 2, 4, 16)
            case "clip_image": (try Self.clip.get(), ["pixel_values": try clip.tensor(named: "pixel_values")], 2, 4, 17)
            default: (try Self.clip.get(), ["input_ids": try clip.tensor(named: "input_ids"), "attention_mask": try clip.tensor(named: "attention_mask")],
                      2, 4, 10)
            }
            let replica = try model.makeReplica()
            let fused = try replica.forward(inputs: inputs)
            var unfused: Tensor?
            let captured = try replica.module.captureAttention { unfused = try model.architecture.run(replica.module, inputs: inputs) }
            let output = try #require(unfused)
            let gap = try #require(difference(output, fused))
            #expect(gap.maxAbsoluteError <= 1e-5 * max(1, gap.referenceMaxMagnitude), "\(name): \(gap)")
            #expect(captured.count == layers)
            let batch = inputs.values.first!.shape[0]
            for (layer, probabilities) in captured {
                #expect(probabilities.shape == [batch, heads, tokens, tokens], "\(layer)")
                let sums = probabilities.sum(axes: [3]).toArray()
                #expect(sums.allSatisfy { abs($0 - 1) < 1e-5 }, "\(layer)")
            }
            if name == "bert" {
                // The first text's padding (tokens 6…15) receives no attention from any query.
                let first = captured[0].probabilities.selecting(axis: 0, index: 0).sliced(axis: 2, 6..<16)
                #expect(first.toArray().allSatisfy { $0 == 0 })
            }
            #expect(replica.module.hookCount == 0)
            // Fused again once the hooks are gone: the same output as before.
            #expect(try replica.forward(inputs: inputs).toArray() == fused.toArray())
        }
    }

    /// A forward pass that throws midway (after the first layer reported) still removes every
    /// attention hook.
    @Test func hooksAreRemovedWhenTheForwardPassFails() async throws {
        struct Failure: Error {}
        try await onDedicatedThread {
            let replica = try BERTTests.fixtureModel().makeReplica()
            let failing = try #require(replica.module.module(at: "encoder.layer.1")).registerForwardPreHook { _, _ in throw Failure() }
            var reported = 0
            #expect(throws: Failure.self) {
                _ = try replica.module.captureAttention {
                    _ = try replica.model.architecture.run(replica.module, inputs: try BERTTests.fixtureInputs())
                    reported += 1
                }
            }
            #expect(reported == 0 && replica.module.hookCount == 1)
            failing.remove()
            #expect(replica.module.hookCount == 0)
        }
    }
}
