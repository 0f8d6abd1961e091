import Foundation
import Models
import NN
import Tensors
import TestSupport
@testable import Service

/// The small models of the service tests, loaded once, and what a test needs to run them without
/// HTTP: served-model wrappers, warm catalogs, random inputs.
enum TestModels {
    static let resnet = Loaded { try LoadedModel.load(architecture: "resnet", configuration: Data(LiveService.resnetConfiguration.utf8),
                                                     weights: Fixtures.url("resnet_basic_1111/model.safetensors")) }
    static let vit = Loaded { try LoadedModel.load(architecture: "vit", configuration: Data(contentsOf: Fixtures.url("vit_tiny/config.json")),
                                                   weights: Fixtures.url("vit_tiny/model.safetensors")) }
    static let clip = Loaded { try LoadedModel.load(architecture: "clip", configuration: Data(LiveService.clipConfiguration.utf8), seed: 11) }
    static let bert = Loaded { try LoadedModel.load(huggingFaceDirectory: Fixtures.url("bert_tiny")) }
    static let mlp = Loaded { try LoadedModel.load(architecture: "mlp", configuration: Data(LiveService.mlpConfiguration.utf8), seed: 7) }

    /// `model` served as `name` version 1 with batching on or off, warmed on every worker of `pool`.
    static func served(_ model: LoadedModel, name: String, batching: Bool, pool: WorkerPool, maxBatchSize: Int = 16,
                       maxDelay: Duration = .zero) async throws -> ServedModel {
        let policy = batching ? BatchingPolicy(isEnabled: true, maxBatchSize: maxBatchSize, maxDelay: maxDelay) : .disabled
        let served = ServedModel(name: name, version: 1, model: model, batching: policy)
        let catalogs = try await pool.onEveryWorker { context in try context.replica(for: served).traceLayers(inputs: served.defaultInputs) }
        served.store(catalogs[0], signature: served.defaultSignature)
        return served
    }

    /// Seeded random inputs of `rows` rows for `model` (images 16×16; BERT 12 tokens with padding
    /// at the end of every other row).
    static func inputs(for model: LoadedModel, rows: Int, seed: UInt64) -> [String: Tensor] {
        var generator = SeededGenerator(seed: seed)
        switch model.architecture {
        case .bert(let configuration):
            let length = 12
            var ids: [Int64] = [], mask: [Int64] = []
            for row in 0..<rows {
                let real = row % 2 == 0 ? length : length - 1 - row % 5
                for token in 0..<length {
                    ids.append(token < real ? Int64.random(in: 1..<Int64(configuration.vocabSize), using: &generator) : 0)
                    mask.append(token < real ? 1 : 0)
                }
            }
            return ["input_ids": Tensor(shape: [rows, length], elements: ids), "attention_mask": Tensor(shape: [rows, length], elements: mask)]
        default:
            let shape = [rows] + ServedModel.defaultInputs(for: model)["input"]!.shape.dropFirst()
            return ["input": Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in Float.random(in: -2...2, using: &generator) })]
        }
    }
}

/// A value computed once, on first use, shared by tests (loading fixtures is slow in debug builds).
final class Loaded<Value: Sendable>: Sendable {
    private let storage: Result<Value, any Error>

    init(_ make: () throws -> Value) {
        storage = Result { try make() }
    }

    func get() throws -> Value { try storage.get() }
}
