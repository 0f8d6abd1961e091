import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct MLPTests {
    static let configuration = MLP.Configuration(inChannels: 8, hiddenChannels: [16, 16, 4], norm: .layerNorm, activation: .gelu)

    /// torchvision.ops.MLP(8, [16, 16, 4], norm_layer=LayerNorm, activation_layer=GELU) with its weights.
    static func fixtureModel() throws -> (LoadedModel, SafetensorsFile) {
        let file = try SafetensorsFile(contentsOf: Fixtures.url("architectures/mlp.safetensors"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = try file.tensors().filter { $0.name.hasPrefix("weights.") }.map { (name: String($0.name.dropFirst(8)), tensor: $0.tensor) }
        try SafetensorsWriter.write(weights, to: directory.appendingPathComponent("mlp.safetensors"))
        let json = #"{"in_channels": 8, "hidden_channels": [16, 16, 4], "norm": "layer_norm", "activation": "gelu"}"#
        let model = try LoadedModel.load(architecture: "mlp", configuration: Data(json.utf8), weights: directory.appendingPathComponent("mlp.safetensors"))
        return (model, file)
    }

    @Test func layoutMatchesTorchvision() throws {
        let module = try ArchitectureFixtures.module(.mlp(Self.configuration))
        ArchitectureFixtures.expectStateDict(of: module, matches: "mlp_layernorm_gelu")
        #expect(module.description == ArchitectureFixtures.references["mlp_layernorm_gelu"]?.repr)
    }

    @Test func outputsMatchTorchvision() throws {
        let (model, file) = try Self.fixtureModel()
        let replica = try model.makeReplica()
        let input = try file.tensor(named: "input")
        #expect(isClose(try replica.forward(inputs: ["input": input]), try file.tensor(named: "output"), tolerance: 1e-5))
        let features = try replica.extractFeatures(layers: ["2", "output"], inputs: ["input": input])
        #expect(isClose(features["2"]!, try file.tensor(named: "layer.2"), tolerance: 1e-5))
        #expect(features["output"]!.shape == [3, 4])
    }

    @Test(arguments: MLP.Configuration.Activation.allCases)
    func everyActivationBuildsAndRuns(_ activation: MLP.Configuration.Activation) throws {
        let model = try LoadedModel.load(architecture: "mlp", configuration: Data(#"{"in_channels": 3, "hidden_channels": [5, 2], "activation": "\#(activation.rawValue)"}"#.utf8))
        let replica = try model.makeReplica()
        #expect(try replica.forward(inputs: ["input": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])]).shape == [2, 2])
        #expect(replica.module.namedModules().count == 1 + 5)  // Linear, activation, Dropout, Linear, Dropout
    }

    @Test func rejectsBadInputs() throws {
        let replica = try LoadedModel.load(architecture: "mlp", configuration: Data(#"{"in_channels": 3, "hidden_channels": [2]}"#.utf8)).makeReplica()
        #expect(throws: ModelError.invalidInput(name: "input", reason: "expected shape [batch, 3], got [2, 4]")) {
            try replica.forward(inputs: ["input": Tensor(zeros: [2, 4])])
        }
        #expect(throws: ModelError.invalidInput(name: "input", reason: "expected dtype float32 or float16 or bfloat16, got int64")) {
            try replica.forward(inputs: ["input": Tensor(zeros: [2, 3], dtype: .int64)])
        }
        // float16 inputs are computed in float32.
        #expect(try replica.forward(inputs: ["input": Tensor(zeros: [2, 3], dtype: .float16)]).dtype == .float32)
    }
}
