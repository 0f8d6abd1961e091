import Foundation
import NN
import ONNX
import Tensors
import Testing
import TestSupport
@testable import Models

/// ONNX models as `LoadedModel`s: inputs, preprocessing, capture by module and tensor name, text.
@Suite struct ONNXArchitectureTests {
    @Test func visionModelLoadsAndCapturesLayers() async throws {
        try await onDedicatedThread {
            let model = try LoadedModel.load(architecture: "onnx", weights: Fixtures.url("onnx/tiny_resnet.onnx"))
            #expect(model.architecture.family == "onnx" && model.architecture.isVision)
            #expect(model.inputs.map(\.summary) == ["float32 [batch, 3, 16, 16]"])
            #expect(model.imagePreprocessing?.configuration.cropSize == .init(height: 16, width: 16))
            #expect(model.weights.keys.first == "conv1.weight")

            let replica = try model.makeReplica()
            let input = randomTensor([2, 3, 16, 16], seed: 3)
            let catalog = try model.traceLayers()
            let features = try replica.extractFeatures(layers: ["layer1.0", "/layer2/layer2.0/conv1/Conv_output_0", "output"],
                                                       inputs: ["input": input], catalog: catalog)
            let graph = try #require(replica.module as? ONNXGraphModule)
            let reference = try GradMode.withDisabled { try graph.allValues(inputs: ["input": input]) }
            #expect(isClose(features["layer1.0"]!, reference["/layer1/layer1.0/relu_1/Relu_output_0"]!))
            #expect(isClose(features["/layer2/layer2.0/conv1/Conv_output_0"]!, reference["/layer2/layer2.0/conv1/Conv_output_0"]!))
            #expect(isClose(features["output"]!, reference["logits"]!))
            #expect(replica.module.hookCount == 0)
        }
    }

    @Test func configurationIsChecked() throws {
        #expect(throws: ModelError.self) {
            try LoadedModel.load(architecture: "onnx", configuration: Data(#"{"image_sizes": 3}"#.utf8), weights: Fixtures.url("onnx/tiny_resnet.onnx"))
        }
        #expect(throws: ModelError.self) { try ArchitectureRegistry.validate(named: "onnx", configuration: Data(#"{"architecture": "bert"}"#.utf8)) }
        try ArchitectureRegistry.validate(named: "onnx", configuration: Data(#"{"image_size": 32, "preprocessing": {"crop_size": 32}}"#.utf8))
        #expect(throws: ModelError.self) { try LoadedModel.load(architecture: "onnx", configuration: nil, weights: nil) }
    }

    @Test func textModelTokenizesAndDefaultsItsMask() async throws {
        try await onDedicatedThread {
            let configuration = #"{"tokenizer": "\#(Fixtures.url("bert_tiny").path)", "max_sequence_length": 64}"#
            let model = try LoadedModel.load(architecture: "onnx", configuration: Data(configuration.utf8), weights: Fixtures.url("onnx/tiny_bert.onnx"))
            #expect(!model.architecture.isVision)
            #expect(model.inputs.map(\.isRequired) == [true, false, false])
            let tokens = try model.tokenize(["hello world", "a longer second text"])
            #expect(tokens["input_ids"]!.shape[0] == 2)
            // The fixture's vocabulary has 100 ids: feed ids directly, with the mask left to its default.
            let ids = Tensor(shape: [1, 5], elements: [Int64]([5, 17, 42, 99, 1]))
            let replica = try model.makeReplica()
            let full = try replica.forward(inputs: ["input_ids": ids, "attention_mask": Tensor(shape: [1, 5], elements: [Int64](repeating: 1, count: 5)),
                                                    "token_type_ids": Tensor(zeros: [1, 5], dtype: .int64)])
            let defaulted = try replica.forward(inputs: ["input_ids": ids])
            #expect(full.shape == [1, 5, 32] && isClose(defaulted, full, tolerance: 0))
            // An id outside the vocabulary is a bad input, not a crash.
            #expect(throws: ModelError.self) { try replica.forward(inputs: ["input_ids": Tensor(shape: [1, 1], elements: [Int64(500)])]) }
        }
    }
}
