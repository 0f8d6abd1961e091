import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct BERTTests {
    static func fixtureModel() throws -> LoadedModel { try fixture.get() }

    private static let fixture = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("bert_tiny")) }

    static func fixtureInputs() throws -> [String: Tensor] {
        let expected = try ArchitectureFixtures.expected("bert_tiny")
        return ["input_ids": try expected.tensor(named: "input_ids"), "attention_mask": try expected.tensor(named: "attention_mask")]
    }

    static var tinyConfiguration: BertModel.Configuration {
        get throws { try JSONDecoder().decode(BertModel.Configuration.self, from: Data(contentsOf: Fixtures.url("bert_tiny/config.json"))) }
    }

    // MARK: - Structure

    @Test func stateDictAndTreeMatchHuggingFace() throws {
        let module = try ArchitectureFixtures.module(.bert(Self.tinyConfiguration))
        ArchitectureFixtures.expectStateDict(of: module, matches: "bert_tiny")
        #expect(module.description == ArchitectureFixtures.references["bert_tiny"]?.repr)
        // Non-persistent buffers exist but are not state.
        #expect(module.namedBuffers().map(\.name) == ["embeddings.position_ids", "embeddings.token_type_ids"])
    }

    @Test(arguments: ["gelu_new", "gelu_pytorch_tanh", "relu"])
    func activationModulesPrintLikeHuggingFace(_ activation: String) throws {
        var configuration = try Self.tinyConfiguration
        configuration.hiddenAct = activation
        let module = try ArchitectureFixtures.module(.bert(configuration))
        #expect(module.description == ArchitectureFixtures.references["bert_tiny_\(activation)"]?.repr)
    }

    @Test func miniLMAndPoolerlessLayoutsMatchHuggingFace() throws {
        var configuration = try Self.tinyConfiguration
        configuration.hiddenSize = 384
        configuration.intermediateSize = 1536
        configuration.numAttentionHeads = 12
        configuration.numHiddenLayers = 6
        configuration.maxPositionEmbeddings = 512
        ArchitectureFixtures.expectStateDict(of: try ArchitectureFixtures.module(.bert(configuration)), matches: "minilm")
        var poolerless = try Self.tinyConfiguration
        poolerless.addPoolingLayer = false
        ArchitectureFixtures.expectStateDict(of: try ArchitectureFixtures.module(.bert(poolerless)), matches: "bert_tiny_without_pooler")
    }

    // MARK: - Parity with Hugging Face

    @Test func tokenizerReproducesTheFixtureIds() throws {
        let model = try Self.fixtureModel()
        let texts = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("bert_tiny/inputs.json"))) as! [String: Any]
        let inputs = try model.tokenize(texts["texts"] as! [String], maxLength: texts["max_length"] as? Int)
        let expected = try Self.fixtureInputs()
        #expect(inputs["input_ids"]!.toInt64Array() == expected["input_ids"]!.toInt64Array())
        #expect(inputs["attention_mask"]!.toInt64Array() == expected["attention_mask"]!.toInt64Array())
        #expect(inputs["input_ids"]!.shape == expected["input_ids"]!.shape)
    }

    /// Every module output in one forward pass, plus the aliases `last_hidden_state` and `pooler_output`.
    @Test func everyLayerMatchesHuggingFace() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let expected = try ArchitectureFixtures.expected("bert_tiny")
        let names = expected.names.filter { $0 != "input_ids" && $0 != "attention_mask" }
        let features = try replica.extractFeatures(layers: names.map { .name($0) }, inputs: Self.fixtureInputs())
        #expect(Set(features.names) == Set(names))
        let worst = try ArchitectureFixtures.expectParity(features, expected, names: names)
        print("bert_tiny: max scaled error \(worst) over \(names.count) layers")
        #expect(replica.module.hookCount == 0)
    }

    /// Unhooked: packed q|k|v, attention without permutes, fused residual GEMMs.
    @Test func fastPathMatchesHuggingFace() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let output = try replica.forward(inputs: Self.fixtureInputs())
        let measured = try #require(difference(output, try ArchitectureFixtures.expected("bert_tiny").tensor(named: "last_hidden_state")))
        #expect(measured.scaledError <= 1e-4, "\(measured)")
    }

    /// Capturing one projection makes the attention call query/key/value separately; the result is the same.
    @Test(arguments: ["encoder.layer.0.attention.self.key", "encoder.layer.1.output.dense", "encoder.layer.0.intermediate.dense",
                      "encoder.layer.1.intermediate.intermediate_act_fn", "pooler_output"])
    func singleCapturesMatchHuggingFace(_ layer: String) throws {
        let replica = try Self.fixtureModel().makeReplica()
        let features = try replica.extractFeatures(layers: [.name(layer), "last_hidden_state"], inputs: Self.fixtureInputs())
        #expect(features.names.sorted() == [layer, "last_hidden_state"].sorted())
        try ArchitectureFixtures.expectParity(features, ArchitectureFixtures.expected("bert_tiny"), names: [layer, "last_hidden_state"])
    }

    @Test func aliasesResolveLikeTheirLayers() throws {
        let model = try Self.fixtureModel()
        let replica = try model.makeReplica()
        let inputs = try Self.fixtureInputs()
        let catalog = try replica.traceLayers(inputs: inputs)
        let both = try replica.extractFeatures(model.resolveLayers(["pooler", "pooler_output", "output"], in: catalog), inputs: inputs)
        #expect(both.names == ["pooler", "pooler_output", "output"])
        #expect(both["pooler"]!.toArray() == both["pooler_output"]!.toArray())
        let aliasOnly = try replica.extractFeatures(model.resolveLayers(["last_hidden_state"], in: catalog), inputs: inputs)
        #expect(aliasOnly.names == ["last_hidden_state"])
        #expect(throws: CaptureError.self) { try model.resolveLayers(["last_hidden_stat"], in: catalog) }
        do {
            _ = try model.resolveLayers(["pooler_outptu"], in: catalog)
        } catch CaptureError.unknownLayer(_, let closest) {
            #expect(closest.first == "pooler_output")
        }
    }

    // MARK: - Checkpoints

    /// A task checkpoint: `bert.` prefix, a classification head, the legacy position-id buffer.
    @Test func taskCheckpointsLoadWithTheirHeadsIgnored() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bert-task-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try SafetensorsFile(contentsOf: Fixtures.url("bert_tiny/model.safetensors"))
        var tensors = try original.tensors().map { (name: "bert." + $0.name, tensor: $0.tensor) }
        tensors.append(("bert.embeddings.position_ids", Tensor(shape: [1, 64], elements: (0..<64).map { Int64($0) })))
        tensors.append(("classifier.weight", Tensor(zeros: [2, 32])))
        tensors.append(("classifier.bias", Tensor(zeros: [2])))
        try SafetensorsWriter.write(tensors, to: directory.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: Fixtures.url("bert_tiny/config.json"), to: directory.appendingPathComponent("config.json"))
        let model = try LoadedModel.load(huggingFaceDirectory: directory)
        #expect(Set(model.ignoredWeightKeys) == ["bert.embeddings.position_ids", "classifier.weight", "classifier.bias"])
        #expect(model.tokenizer == nil)
        #expect(throws: ModelError.textInputUnsupported(architecture: "bert")) { try model.tokenize(["hello"]) }
        let output = try model.makeReplica().forward(inputs: Self.fixtureInputs())
        #expect(isClose(output, try ArchitectureFixtures.expected("bert_tiny").tensor(named: "last_hidden_state")))
    }

    @Test func checkpointsWithoutPoolerLoadWithoutPooler() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bert-nopool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try SafetensorsFile(contentsOf: Fixtures.url("bert_tiny/model.safetensors"))
        try SafetensorsWriter.write(try original.tensors().filter { !$0.name.hasPrefix("pooler.") },
                                    to: directory.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: Fixtures.url("bert_tiny/config.json"), to: directory.appendingPathComponent("config.json"))
        let model = try LoadedModel.load(huggingFaceDirectory: directory)
        #expect(model.layerAliases == ["last_hidden_state": "output"])
        let replica = try model.makeReplica()
        #expect(replica.module.module(at: "pooler") == nil)
        #expect(isClose(try replica.forward(inputs: Self.fixtureInputs()),
                        try ArchitectureFixtures.expected("bert_tiny").tensor(named: "last_hidden_state")))
    }

    @Test func missingWeightsAreNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bert-missing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try SafetensorsFile(contentsOf: Fixtures.url("bert_tiny/model.safetensors"))
        try SafetensorsWriter.write(try original.tensors().filter { $0.name != "encoder.layer.1.output.dense.bias" },
                                    to: directory.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: Fixtures.url("bert_tiny/config.json"), to: directory.appendingPathComponent("config.json"))
        #expect(throws: ModelError.weightsMismatch(missing: ["encoder.layer.1.output.dense.bias"], unexpected: [])) {
            try LoadedModel.load(huggingFaceDirectory: directory)
        }
    }

    // MARK: - Inputs

    @Test func defaultsForMaskAndTokenTypesMatchExplicitOnes() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let ids = try Self.fixtureInputs()["input_ids"]!.sliced(axis: 0, 0..<1)
        let implicit = try replica.forward(inputs: ["input_ids": ids])
        let explicit = try replica.forward(inputs: ["input_ids": ids, "attention_mask": Tensor(shape: ids.shape, elements: [Int64](repeating: 1, count: ids.count)),
                                                    "token_type_ids": Tensor(zeros: ids.shape, dtype: .int64)])
        #expect(implicit.toArray() == explicit.toArray())
        // int32 ids work too.
        #expect(try replica.forward(inputs: ["input_ids": ids.to(.int32)]).toArray() == implicit.toArray())
    }

    @Test func paddingDoesNotChangeRealTokens() throws {
        let replica = try Self.fixtureModel().makeReplica()
        let inputs = try Self.fixtureInputs()
        let full = try replica.forward(inputs: inputs)
        // The first text alone, cut to its real length.
        let mask = inputs["attention_mask"]!.toInt64Array()
        let length = mask.prefix(16).filter { $0 == 1 }.count
        let alone = try replica.forward(inputs: ["input_ids": inputs["input_ids"]!.sliced(axis: 0, 0..<1).sliced(axis: 1, 0..<length)])
        let padded = full.sliced(axis: 0, 0..<1).sliced(axis: 1, 0..<length)
        #expect(isClose(alone, padded, tolerance: 1e-5))
    }

    @Test func badInputsAreNamed() throws {
        let replica = try Self.fixtureModel().makeReplica()
        #expect(throws: ModelError.invalidInput(name: "input_ids", reason: "30522 is out of range (expected token ids below vocab_size: 0..<30522)")) {
            try replica.forward(inputs: ["input_ids": Tensor(shape: [1, 2], elements: [Int64(101), 30522])])
        }
        #expect(throws: ModelError.invalidInput(name: "input_ids", reason: "expected shape [batch, sequence≤64], got [1, 65]")) {
            try replica.forward(inputs: ["input_ids": Tensor(zeros: [1, 65], dtype: .int64)])
        }
        #expect(throws: ModelError.invalidInput(name: "input_ids", reason: "expected dtype int64 or int32, got float32")) {
            try replica.forward(inputs: ["input_ids": Tensor(zeros: [1, 4])])
        }
        #expect(throws: ModelError.invalidInput(name: "attention_mask", reason: "expected the shape of input_ids [1, 4], got [1, 3]")) {
            try replica.forward(inputs: ["input_ids": Tensor(zeros: [1, 4], dtype: .int64), "attention_mask": Tensor(zeros: [1, 3], dtype: .int64)])
        }
        #expect(throws: ModelError.invalidInput(name: "token_type_ids", reason: "2 is out of range (expected ids below type_vocab_size: 0..<2)")) {
            try replica.forward(inputs: ["input_ids": Tensor(zeros: [1, 2], dtype: .int64), "token_type_ids": Tensor(shape: [1, 2], elements: [Int64(0), 2])])
        }
    }
}
