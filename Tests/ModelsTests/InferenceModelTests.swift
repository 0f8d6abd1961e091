import Foundation
import NN
import Tensors
import Testing
import TestSupport
@testable import Models

@Suite struct InferenceModelTests {
    /// Replicas share the weight storage and the packed inference weights: N workers, one copy.
    @Test func replicasShareWeightsAndPackedWeights() throws {
        let model = try BERTTests.fixtureModel()
        let first = try model.makeReplica(), second = try model.makeReplica()
        let path = "encoder.layer.0.intermediate.dense"
        let a = try #require(first.module.module(at: path) as? Linear), b = try #require(second.module.module(at: path) as? Linear)
        #expect(a !== b)
        #expect(a.weight.value.storage === b.weight.value.storage)
        #expect(a.inferenceWeights() === b.inferenceWeights())
        // Both replicas compute the same thing.
        let inputs = try BERTTests.fixtureInputs()
        #expect(try first.forward(inputs: inputs).toArray() == (try second.forward(inputs: inputs)).toArray())
    }

    @Test func foldedConvolutionsAreSharedToo() throws {
        let model = try ResNetTests.fixtureModel()
        let input = try ResNetTests.fixtureInput()
        let first = try model.makeReplica(), second = try model.makeReplica()
        #expect(try first.forward(inputs: ["input": input]).toArray() == (try second.forward(inputs: ["input": input])).toArray())
        let conv = try #require(first.module.module(at: "layer1.0.conv1") as? Conv2d)
        let twin = try #require(second.module.module(at: "layer1.0.conv1") as? Conv2d)
        let bn = try #require(first.module.module(at: "layer1.0.bn1") as? BatchNorm2d)
        let twinBN = try #require(second.module.module(at: "layer1.0.bn1") as? BatchNorm2d)
        #expect(conv.inferenceWeights(foldingBatchNorm: bn) === twin.inferenceWeights(foldingBatchNorm: twinBN))
    }

    /// Each worker thread builds and runs its own replica; results agree with the calling thread's.
    @Test func replicasRunOnTheirOwnThreads() async throws {
        let model = try VisionTransformerTests.fixtureModel()
        let input = try VisionTransformerTests.fixtureInput()
        let reference = try model.makeReplica().forward(inputs: ["input": input]).toArray()
        let results = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await onThread {
                        let replica = try model.makeReplica()
                        var last: [Float] = []
                        for _ in 0..<3 { last = try replica.forward(inputs: ["input": input]).toArray() }
                        return last
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 3)
        for result in results { #expect(result == reference) }
    }

    @Test func capturesLeaveNoHooksEvenWhenTheForwardFails() throws {
        let replica = try BERTTests.fixtureModel().makeReplica()
        let bad: [String: Tensor] = ["input_ids": Tensor(shape: [1, 2], elements: [Int64(1), 99_999])]
        #expect(throws: ModelError.self) { try replica.extractFeatures(layers: ["embeddings"], inputs: bad, catalog: replica.traceLayers()) }
        #expect(replica.module.hookCount == 0)
        #expect(throws: ModelError.self) { try replica.traceLayers(inputs: bad) }
        #expect(replica.module.hookCount == 0)
    }

    /// Early stop: layers after the last requested one do not run.
    @Test func extractionStopsAfterTheLastRequestedLayer() throws {
        let replica = try ResNetTests.fixtureModel().makeReplica()
        let input = try ResNetTests.fixtureInput()
        let catalog = try replica.traceLayers(inputs: ["input": input])
        var fcCalls = 0
        let fc = try #require(replica.module.module(at: "fc"))
        let handle = fc.registerForwardHook { _, _, _ in fcCalls += 1; return nil }
        defer { handle.remove() }
        let features = try replica.extractFeatures(replica.model.resolveLayers(["layer1"], in: catalog), inputs: ["input": input])
        #expect(features.names == ["layer1"])
        #expect(fcCalls == 0)
        _ = try replica.extractFeatures(replica.model.resolveLayers(["layer1"], in: catalog), inputs: ["input": input], stopEarly: false)
        #expect(fcCalls == 1)
    }

    @Test func tracedCatalogListsEveryCall() throws {
        let replica = try VisionTransformerTests.fixtureModel().makeReplica()
        let catalog = try replica.traceLayers()
        #expect(catalog.isTraced)
        #expect(catalog.outputShape == [1, 10])
        #expect(catalog.layers.first?.name == "conv_proj")
        #expect(catalog.layer(named: "encoder.layers.encoder_layer_1.self_attention")?.moduleType == "MultiheadAttention")
        #expect(catalog.layer(named: "encoder.layers.encoder_layer_0.mlp")?.moduleType == "MLPBlock")
        #expect(catalog.layer(named: "heads.head")?.outputShape == [1, 10])
        #expect(catalog.totalParameterCount == replica.model.parameterCount)
    }
}

/// Runs `body` on a new thread (forward passes never run on Swift's cooperative pool).
func onThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
