import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct ConvNeXtTests {
    private static let fixture = Loaded {
        try LoadedModel.load(architecture: nil, configuration: Data(contentsOf: Fixtures.url("convnext_tiny/config.json")),
                             weights: Fixtures.url("convnext_tiny/model.safetensors"))
    }

    static func fixtureInput() throws -> Tensor {
        try SafetensorsFile(contentsOf: Fixtures.url("convnext_tiny/input.safetensors")).tensor(named: "input")
    }

    @Test func presetsMatchTorchvision() async throws {
        try await onDedicatedThread {
            let tiny = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: "convnext_tiny", configuration: nil))
            ArchitectureFixtures.expectStateDict(of: tiny, matches: "convnext_tiny")
            #expect(tiny.description == ArchitectureFixtures.references["convnext_tiny"]?.repr)
            let small = try ArchitectureFixtures.module(ArchitectureRegistry.architecture(named: "convnext_small", configuration: nil))
            ArchitectureFixtures.expectStateDict(of: small, matches: "convnext_small")
        }
    }

    @Test func fixtureConfigurationMatchesTorchvision() async throws {
        try await onDedicatedThread {
            let module = try ArchitectureFixtures.module(Self.fixture.get().architecture)
            ArchitectureFixtures.expectStateDict(of: module, matches: "convnext_fixture")
            #expect(module.description == ArchitectureFixtures.references["convnext_fixture"]?.repr)
        }
    }

    /// Every module's output in one forward pass: depthwise convolution, permutes, channels-last and
    /// channels-first LayerNorms, the MLP, layer scale and the residual.
    @Test func everyLayerMatchesPyTorch() async throws {
        try await onDedicatedThread {
            let replica = try Self.fixture.get().makeReplica()
            let expected = try ArchitectureFixtures.expected("convnext_tiny")
            let input = try Self.fixtureInput()
            let catalog = try replica.traceLayers(inputs: ["input": input])
            #expect(Set(catalog.names + ["output"]) == Set(expected.names))
            let features = try replica.extractFeatures(layers: expected.names.map { .name($0) }, inputs: ["input": input], catalog: catalog)
            let worst = try ArchitectureFixtures.expectParity(features, expected, names: expected.names)
            print("convnext_tiny fixture: max scaled error \(worst) over \(expected.names.count) layers")
        }
    }

    @Test func unhookedForwardMatchesPyTorch() async throws {
        try await onDedicatedThread {
            let replica = try Self.fixture.get().makeReplica()
            let output = try replica.forward(inputs: ["input": Self.fixtureInput()])
            let measured = try #require(difference(output, try ArchitectureFixtures.expected("convnext_tiny").tensor(named: "output")))
            #expect(measured.scaledError <= 1e-4, "\(measured)")
        }
    }

    @Test func seededWeightsFollowTorchvisionInitialization() async throws {
        try await onDedicatedThread {
            let model = try LoadedModel.load(architecture: "convnext", configuration: Data(
                #"{"block_setting": [{"input_channels": 8, "out_channels": null, "num_layers": 1}], "num_classes": 4}"#.utf8), seed: 5)
            #expect(model.weights["features.1.0.layer_scale"]!.toArray().allSatisfy { $0 == 1e-6 })
            #expect(model.weights["features.0.0.bias"]!.toArray().allSatisfy { $0 == 0 })
            let weights = model.weights["features.1.0.block.3.weight"]!.toArray()
            // Truncated normal, std 0.02, cut at ±2 (absolute, as torch.nn.init.trunc_normal_ does).
            #expect(weights.allSatisfy { abs($0) <= 2 })
            let std = (weights.map { $0 * $0 }.reduce(0, +) / Float(weights.count)).squareRoot()
            #expect(abs(std - 0.02) < 0.004, "std \(std)")
        }
    }

    @Test(arguments: [
        (#"{"block_setting": []}"#, "block_setting"),
        (#"{"block_setting": [{"input_channels": 8, "out_channels": 16, "num_layers": 1}, {"input_channels": 12, "out_channels": null, "num_layers": 1}]}"#,
         "block_setting[0].out_channels"),
        (#"{"block_setting": [{"input_channels": 8, "out_channels": null, "num_layers": 0}]}"#, "block_setting[0]"),
        (#"{"stochastic_depth_prob": 2}"#, "stochastic_depth_prob"),
        (#"{"num_classes": 0}"#, "num_classes"),
    ])
    func invalidConfigurationsNameTheField(json: String, field: String) throws {
        #expect {
            _ = try ArchitectureRegistry.architecture(named: "convnext_tiny", configuration: Data(json.utf8))
        } throws: { error in
            "\(error)".contains(field)
        }
    }
}
