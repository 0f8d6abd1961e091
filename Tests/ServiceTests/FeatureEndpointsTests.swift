import Foundation
import Models
import NN
import Tensors
import Testing
import TestSupport
@testable import Service

/// `POST /v1/models/{name}/features` over a real socket.
@Suite struct FeatureEndpointsTests {
    /// One request of the concurrency test and the layer names its answer must hold.
    struct Call: Sendable {
        var model: String
        var body: String
        var selectors: [String]
    }

    static func calls() -> [Call] {
        var calls: [Call] = []
        let resnetLayers = [["layer1"], ["layer4", "avgpool"], ["layer2.*.relu", "-1"], ["conv1", "output"], ["fc"], ["layer3.0"]]
        let bertLayers = [["last_hidden_state"], ["pooler_output", "encoder.layer.0"], ["embeddings"], ["-1"], ["encoder.layer.1.output"], ["last_hidden_state", "pooler"]]
        let mlpLayers = [["0"], ["3", "output"], ["-1"], ["1", "4"], ["output"], ["2"]]
        let texts = [["The quick brown fox."], ["Periscope looks inside networks.", "a b c"], ["hello"], ["one two three four"], ["x"], ["layers"]]
        for index in 0..<6 {
            let rows = 1 + index % 2
            calls.append(Call(model: "resnet", body: FeatureRequests.tensorBody(randomTensor([rows, 3, 16, 16], seed: UInt64(index)), layers: resnetLayers[index]),
                              selectors: resnetLayers[index]))
            calls.append(Call(model: "bert", body: FeatureRequests.textBody(texts[index], layers: bertLayers[index],
                                                                              extra: index % 3 == 0 ? #","pool":"mean","normalize":true"# : ""),
                              selectors: bertLayers[index]))
            calls.append(Call(model: "mlp", body: FeatureRequests.tensorBody(randomTensor([rows + 1, 8], seed: UInt64(50 + index)), layers: mlpLayers[index]),
                              selectors: mlpLayers[index]))
        }
        return calls
    }

    /// 18 requests at once — three models, different layer sets, names, globs, indices and aliases —
    /// each get exactly their layers, with the values a one-by-one run gives; no hooks are left.
    /// Without batching the values are identical; with batching they agree within float32 rounding
    /// (see `FeatureBatchTests`).
    @Test(arguments: [false, true])
    func concurrentMixedRequestsGetExactlyTheirLayers(batching: Bool) async throws {
        let service = try await LiveService.start([.resnet("resnet"), .bert("bert"), .mlp("mlp")], settings: [
            "workers": "2", "batching.enabled": batching ? "true" : "false", "batching.max_delay_ms": "20",
        ])
        do {
            let calls = Self.calls()
            let concurrent = try await withThrowingTaskGroup(of: (Int, LiveReply).self) { group in
                for (index, call) in calls.enumerated() {
                    group.addTask { (index, try await service.post("/v1/models/\(call.model)/features", json: call.body)) }
                }
                var replies = [LiveReply?](repeating: nil, count: calls.count)
                for try await (index, reply) in group { replies[index] = reply }
                return replies.map { $0! }
            }
            let application = service.application
            for (index, call) in calls.enumerated() {
                let reply = concurrent[index]
                #expect(reply.status == 200, "\(call.model) \(call.selectors): \(reply.text.prefix(300))")
                #expect(reply.headers["x-request-id"] != nil)
                let model = try #require(application.manager.readyModel(ModelKey(name: call.model, version: 1)))
                let request = try model.model.resolveLayers(call.selectors.map { Int($0).map(LayerSelector.index) ?? .name($0) }, in: model.defaultCatalog)
                let expectedNames = Set(request.selection.names).subtracting(request.droppedNames).union(request.aliases.map(\.alias))
                let got = try FeatureRequests.features(reply)
                #expect(Set(got.keys) == expectedNames, "\(call.model) \(call.selectors)")
                let sequential = try FeatureRequests.features(try await service.post("/v1/models/\(call.model)/features", json: call.body))
                for (name, value) in got {
                    let reference = try #require(sequential[name])
                    #expect(value.shape == reference.shape, "\(call.model) \(name)")
                    if batching {
                        let gap = try #require(difference(Tensor(shape: value.shape, scalars: value.values), Tensor(shape: reference.shape, scalars: reference.values)))
                        #expect(gap.scaledError <= 1e-5, "\(call.model) \(name): \(gap)")
                    } else {
                        #expect(value.values == reference.values, "\(call.model) \(name)")
                    }
                }
            }
            #expect(try await application.pool.hookCounts() == [0, 0])
            let metrics = try await service.get("/metrics").text
            #expect(metrics.contains("\nperiscope_active_hooks 0\n"))
            if batching { #expect(application.pool.executionCount < application.pool.executedJobCount, "no batch formed") }
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
