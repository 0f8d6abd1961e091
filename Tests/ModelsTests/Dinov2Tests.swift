import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct Dinov2Tests {
    private static let plain = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_tiny")) }
    private static let registers = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("dinov2_registers_tiny")) }

    static func inputs(_ folder: String) throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: Fixtures.url("\(folder)/input.safetensors"))
    }

    @Test(arguments: [("dinov2_tiny", false), ("dinov2_registers_tiny", true)])
    func keysAndTreeMatchTransformers(folder: String, withRegisters: Bool) async throws {
        try await onDedicatedThread {
            let model = try (withRegisters ? Self.registers : Self.plain).get()
            let module = try ArchitectureFixtures.module(model.architecture)
            ArchitectureFixtures.expectStateDict(of: module, matches: folder)
            #expect(module.description == ArchitectureFixtures.references[folder]?.repr)
        }
    }

    /// Every module's output (attention as its first output; the drop-path identity runs twice per
    /// layer: `drop_path`, `drop_path_1`), at the trained grid.
    @Test(arguments: [("dinov2_tiny", false), ("dinov2_registers_tiny", true)])
    func everyLayerMatchesTransformers(folder: String, withRegisters: Bool) async throws {
        try await onDedicatedThread {
            let replica = try (withRegisters ? Self.registers : Self.plain).get().makeReplica()
            let expected = try ArchitectureFixtures.expected(folder)
            let input = try Self.inputs(folder).tensor(named: "input")
            let catalog = try replica.traceLayers(inputs: ["input": input])
            let names = expected.names.filter { !$0.hasPrefix("wide/") }
            #expect(Set(catalog.names + ["output"]) == Set(names))
            let features = try replica.extractFeatures(layers: names.map { .name($0) }, inputs: ["input": input], catalog: catalog)
            let worst = try ArchitectureFixtures.expectParity(features, expected, names: names)
            print("\(folder): max scaled error \(worst) over \(names.count) layers")
        }
    }

    /// A non-square image with another patch grid: the position embeddings are resized bicubically
    /// (antialiased in the registers model) exactly as the original does.
    @Test(arguments: [("dinov2_tiny", false), ("dinov2_registers_tiny", true)])
    func interpolatedPositionsMatchTransformers(folder: String, withRegisters: Bool) async throws {
        try await onDedicatedThread {
            let replica = try (withRegisters ? Self.registers : Self.plain).get().makeReplica()
            let expected = try ArchitectureFixtures.expected(folder)
            let wide = try Self.inputs(folder).tensor(named: "wide/input")
            let features = try replica.extractFeatures(layers: [.name("embeddings"), .name("last_hidden_state")], inputs: ["input": wide])
            let embedded = try #require(features["embeddings"]), hidden = try #require(features["last_hidden_state"])
            let embeddings = try #require(difference(embedded, try expected.tensor(named: "wide/embeddings")))
            #expect(embeddings.scaledError <= 1e-5, "\(embeddings)")
            let output = try #require(difference(hidden, try expected.tensor(named: "wide/output")))
            #expect(output.scaledError <= 1e-4, "\(output)")
        }
    }

    /// The hub's checkpoint layout (`attention.attention.query`, `attention.output.dense`, a
    /// `dinov2.` prefix with a classifier head) loads into the same model.
    @Test func legacyCheckpointKeysLoad() async throws {
        try await onDedicatedThread {
            let current = try Self.plain.get()
            var legacy = StateDict()
            for (key, tensor) in current.weights {
                let renamed = key.replacingOccurrences(of: "attention.q_proj.", with: "attention.attention.query.")
                    .replacingOccurrences(of: "attention.k_proj.", with: "attention.attention.key.")
                    .replacingOccurrences(of: "attention.v_proj.", with: "attention.attention.value.")
                    .replacingOccurrences(of: "attention.o_proj.", with: "attention.output.dense.")
                legacy["dinov2." + renamed] = tensor
            }
            legacy["classifier.weight"] = Tensor(zeros: [10, 64])
            let loaded = try LoadedModel(name: "dinov2", architecture: current.architecture, stateDict: legacy, imagePreprocessing: nil,
                                         tokenizer: nil, seed: 0)
            #expect(loaded.ignoredWeightKeys == ["classifier.weight"])
            #expect(loaded.weights.keys == current.weights.keys)
            let input = try Self.inputs("dinov2_tiny").tensor(named: "input")
            let output = try loaded.makeReplica().forward(inputs: ["input": input])
            let measured = try #require(difference(output, try ArchitectureFixtures.expected("dinov2_tiny").tensor(named: "output")))
            #expect(measured.scaledError <= 1e-4, "\(measured)")
        }
    }

    @Test func swiGLUFusedInputProjectionSplitsIntoGateAndUp() throws {
        let gate = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), up = Tensor(shape: [2, 3], scalars: [7, 8, 9, 10, 11, 12])
        var state = StateDict()
        state["encoder.layer.0.mlp.weights_in.weight"] = Tensor.concatenate([gate, up], axis: 0)
        state["encoder.layer.0.mlp.weights_out.bias"] = Tensor(zeros: [3])
        let normalized = Dinov2Model.normalizeWeights(state).weights
        #expect(normalized["encoder.layer.0.mlp.gate_proj.weight"]?.toArray() == gate.toArray())
        #expect(normalized["encoder.layer.0.mlp.up_proj.weight"]?.toArray() == up.toArray())
        #expect(normalized["encoder.layer.0.mlp.down_proj.bias"] != nil)
    }

    @Test func invalidConfigurationsNameTheField() throws {
        #expect { _ = try ArchitectureRegistry.architecture(named: "dinov2", configuration: Data(#"{"hidden_size": 30, "num_attention_heads": 4}"#.utf8)) }
            throws: { "\($0)".contains("hidden_size") }
        #expect { _ = try ArchitectureRegistry.architecture(named: "dinov2", configuration: Data(#"{"model_type": "vit"}"#.utf8)) }
            throws: { "\($0)".contains("model_type") }
        #expect { _ = try ArchitectureRegistry.architecture(named: "dinov2", configuration: Data(#"{"image_size": 7, "patch_size": 14}"#.utf8)) }
            throws: { "\($0)".contains("image_size") }
    }
}
