import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

// Input attributions of BERT's integer token ids, taken at the word embeddings' output, against
// Captum 0.9's LayerIntegratedGradients / LayerGradientXActivation on `word_embeddings`
// (Tests/Fixtures/gradients/token_attributions.safetensors, written by
// scripts/fixtures/make_token_attribution_fixtures.py): the fixture's two texts, the first padded
// (attention mask), target Σ_n ‖pooler_output[n]‖₂, within 1e-4 of the reference's largest magnitude.

private let references = Loaded { try SafetensorsFile(contentsOf: Fixtures.url("gradients/token_attributions.safetensors")) }

@Suite struct TokenAttributionTests {
    private func attribute(_ method: AttributionMethod, _ options: InputAttributionOptions,
                           target: AttributionTarget = .layerNorm(layer: "pooler_output")) throws -> (CapturedFeatures, InferenceModel) {
        let replica = try BERTTests.fixtureModel().makeReplica()
        let request = Attribution(target: target, method: method, inputAttribution: options)
        let maps = try replica.attribute(request, inputs: try BERTTests.fixtureInputs())
        #expect(replica.module.hookCount == 0)
        #expect(replica.module.parameters().allSatisfy { $0.grad == nil })
        return (maps, replica)
    }

    /// The map [N, S, hidden] and its per-token sums [N, S], checked against the reference.
    private func expectMatches(_ maps: CapturedFeatures, key: String, reference name: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws -> Float {
        #expect(maps.names == [key, key + ":tokens"], sourceLocation: sourceLocation)
        let expected = try references.get().tensor(named: name)
        let error = relativeError(maps[key], expected)
        #expect(error <= 1e-4, "\(name): relative error \(error)", sourceLocation: sourceLocation)
        let tokens = relativeError(maps[key + ":tokens"], expected.sum(axes: [2]))
        #expect(tokens <= 1e-4, "\(name) per token: relative error \(tokens)", sourceLocation: sourceLocation)
        #expect(maps[key + ":tokens"]?.shape == [2, 16], sourceLocation: sourceLocation)
        return max(error, tokens)
    }

    /// [PAD] (id 0) baseline, 16 steps, Captum's rules; 5 and 16 copies per pass (the rest covered by 1 below).
    @Test(arguments: [(IntegrationRule.gaussLegendre, 5), (.riemannTrapezoid, 16)])
    func integratedGradientsMatchCaptum(rule: IntegrationRule, copiesPerPass: Int) async throws {
        try await onDedicatedThread {
            let (maps, _) = try attribute(.integratedGradients, InputAttributionOptions(steps: 16, rule: rule, copiesPerPass: copiesPerPass))
            let error = try expectMatches(maps, key: "integrated_gradients", reference: "ig.\(rule.rawValue)")
            print("bert_tiny integrated_gradients \(rule.rawValue): max relative error \(error)")
        }
    }

    /// Another baseline token ([UNK], 100), and a zero embedding — the same as [PAD] here, whose
    /// embedding row the fixture (as Hugging Face initializes `padding_idx`) has at zero.
    @Test func integratedGradientsBaselinesMatchCaptum() async throws {
        try await onDedicatedThread {
            let (unknown, _) = try attribute(.integratedGradients, InputAttributionOptions(steps: 16, tokenBaseline: .token(100), copiesPerPass: 1))
            let error = try expectMatches(unknown, key: "integrated_gradients", reference: "ig.unk.gausslegendre")
            print("bert_tiny integrated_gradients [UNK] baseline: max relative error \(error)")
            let (zero, _) = try attribute(.integratedGradients, InputAttributionOptions(steps: 16, tokenBaseline: .zeroEmbedding, copiesPerPass: 8))
            _ = try expectMatches(zero, key: "integrated_gradients", reference: "ig.gausslegendre")
        }
    }

    @Test func inputXGradientMatchesCaptum() async throws {
        try await onDedicatedThread {
            let (maps, _) = try attribute(.inputXGradient, InputAttributionOptions())
            let error = try expectMatches(maps, key: "input_x_gradient", reference: "input_x_gradient")
            print("bert_tiny input_x_gradient: max relative error \(error)")
        }
    }

    /// SmoothGrad adds the noise to the embeddings: without noise it is saliency's `input_grad`
    /// (the gradient at the word embeddings' output); it has no per-token sums.
    @Test func smoothGradWithoutNoiseIsTheEmbeddingGradient() async throws {
        try await onDedicatedThread {
            let (maps, replica) = try attribute(.smoothGrad, InputAttributionOptions(samples: 2, noiseStandardDeviation: 0, copiesPerPass: 2))
            #expect(maps.names == ["smoothgrad"])
            let saliency = try replica.attribute(Attribution(target: .layerNorm(layer: "pooler_output")), inputs: try BERTTests.fixtureInputs())
            let gradient = try #require(saliency["input_grad"])
            #expect(relativeError(maps["smoothgrad"], gradient) <= 1e-5)
            #expect(maps["smoothgrad"]?.shape == [2, 16, 32])
        }
    }

    /// One output element: one copy per pass, the other text's attribution zero; a target out of
    /// range (only the forward pass can tell for the sequence axis) throws and leaves no hooks.
    @Test func outputIndexTargetAndErrorsLeaveNoHooks() async throws {
        try await onDedicatedThread {
            let (maps, _) = try attribute(.integratedGradients, InputAttributionOptions(steps: 4, copiesPerPass: 4), target: .outputIndex([1, 3, 5]))
            let tokens = try #require(maps["integrated_gradients:tokens"])
            #expect(tokens.shape == [2, 16])
            #expect(tokens.toArray().prefix(16).allSatisfy { $0 == 0 } && tokens.toArray().dropFirst(16).contains { $0 != 0 })
            let replica = try BERTTests.fixtureModel().makeReplica()
            let catalog = try replica.traceLayers(inputs: try BERTTests.fixtureInputs())
            let request = Attribution(target: .outputIndex([1, 40, 5]), method: .integratedGradients,
                                      inputAttribution: InputAttributionOptions(steps: 2))
            #expect(throws: (any Error).self) {
                _ = try replica.attribute(replica.model.resolveAttribution(request, in: catalog), inputs: try BERTTests.fixtureInputs())
            }
            #expect(replica.module.hookCount == 0)
        }
    }

    /// A baseline token outside the vocabulary is refused before anything runs.
    @Test func baselineTokenOutsideTheVocabularyIsRefused() throws {
        let model = try BERTTests.fixtureModel()
        let replica = try model.makeReplica()
        let catalog = try replica.traceLayers(inputs: try BERTTests.fixtureInputs())
        let request = Attribution(target: .layerNorm(layer: "pooler_output"), method: .integratedGradients,
                                  inputAttribution: InputAttributionOptions(tokenBaseline: .token(30522)))
        #expect(throws: ModelError.invalidInput(name: "baseline_token", reason: "30522 is out of range (expected a token id below vocab_size: 0..<30522)")) {
            _ = try model.resolveAttribution(request, in: catalog)
        }
    }
}
