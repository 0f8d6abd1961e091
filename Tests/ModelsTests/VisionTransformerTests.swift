import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct VisionTransformerTests {
    static func fixtureModel() throws -> LoadedModel { try fixture.get() }

    private static let fixture = Loaded {
        try LoadedModel.load(architecture: "vit", configuration: Data(contentsOf: Fixtures.url("vit_tiny/config.json")),
                             weights: Fixtures.url("vit_tiny/model.safetensors"))
    }

    static func fixtureInput() throws -> Tensor {
        try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/input.safetensors")).tensor(named: "input")
    }

    @Test func vitB16MatchesTorchvision() throws {
        let module = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: "vit_b_16", configuration: nil))
        ArchitectureFixtures.expectStateDict(of: module, matches: "vit_b_16")
        #expect(module.description == ArchitectureFixtures.references["vit_b_16"]?.repr)
    }

    @Test func tinyConfigurationsMatchTorchvision() throws {
        let tiny = try ArchitectureFixtures.module(Self.fixtureModel().architecture)
        ArchitectureFixtures.expectStateDict(of: tiny, matches: "vit_tiny")
        #expect(tiny.description == ArchitectureFixtures.references["vit_tiny"]?.repr)
        let representation = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: "vit", configuration: Data(
            #"{"image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64, "num_classes": 10, "representation_size": 16}"#.utf8)))
        ArchitectureFixtures.expectStateDict(of: representation, matches: "vit_tiny_representation")
        #expect(representation.description == ArchitectureFixtures.references["vit_tiny_representation"]?.repr)
    }

    /// Every layer in one forward pass, attention modules as their first output.
    @Test func everyLayerMatchesPyTorch() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let expected = try ArchitectureFixtures.expected("vit_tiny")
        let input = try Self.fixtureInput()
        let catalog = try replica.traceLayers(inputs: ["input": input])
        #expect(Set(catalog.names + ["output"]) == Set(expected.names))
        let features = try replica.extractFeatures(layers: expected.names.map { .name($0) }, inputs: ["input": input], catalog: catalog)
        let worst = try ArchitectureFixtures.expectParity(features, expected, names: expected.names)
        print("vit_tiny: max scaled error \(worst) over \(expected.names.count) layers")
    }

    /// The unhooked forward (packed attention, fused MLP) equals the fixture's output too.
    @Test func fastPathMatchesPyTorch() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let output = try replica.forward(inputs: ["input": Self.fixtureInput()])
        let measured = try #require(difference(output, try ArchitectureFixtures.expected("vit_tiny").tensor(named: "output")))
        #expect(measured.scaledError <= 1e-4, "\(measured)")
    }

    @Test func seededWeightsFollowTorchvisionInitialization() throws {
        let model = try LoadedModel.load(architecture: "vit", configuration: Data(
            #"{"image_size": 32, "patch_size": 8, "num_layers": 1, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64, "num_classes": 10}"#.utf8), seed: 9)
        #expect(model.weights["heads.head.weight"]!.toArray().allSatisfy { $0 == 0 })
        #expect(model.weights["class_token"]!.toArray().allSatisfy { $0 == 0 })
        #expect(model.weights["conv_proj.bias"]!.toArray().allSatisfy { $0 == 0 })
        let bias = model.weights["encoder.layers.encoder_layer_0.mlp.0.bias"]!.toArray()
        #expect(bias.allSatisfy { abs($0) < 1e-4 } && bias.contains { $0 != 0 })
        // Same seed, same weights.
        let again = try LoadedModel.load(architecture: "vit", configuration: Data(
            #"{"image_size": 32, "patch_size": 8, "num_layers": 1, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64, "num_classes": 10}"#.utf8), seed: 9)
        #expect(again.weights["encoder.pos_embedding"]!.toArray() == model.weights["encoder.pos_embedding"]!.toArray())
    }

    @Test func rejectsOtherImageSizes() throws {
        let replica = try Self.fixtureModel().makeReplica()
        #expect(throws: ModelError.invalidInput(name: "input", reason: "expected shape [batch, 3, 32, 32], got [1, 3, 64, 64]")) {
            try replica.forward(inputs: ["input": Tensor(zeros: [1, 3, 64, 64])])
        }
        #expect(replica.model.inputs[0].concreteShape(batchSize: 2) == [2, 3, 32, 32])
    }
}
