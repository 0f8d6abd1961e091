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
            "batching.text_enabled": batching ? "true" : "false",
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

    /// Images as raw bodies and as base64, safetensors answers, the response-size limit checked
    /// before running, and validation errors that name the field — all before any job is queued.
    @Test func imagesEncodingsLimitsAndValidation() async throws {
        let service = try await LiveService.start([.resnet("resnet"), .mlp("mlp")], settings: ["max_response_bytes": "20000"])
        do {
            let png = Array(try Data(contentsOf: Fixtures.url("images/rgb8_37x23.png")))
            let raw = try await service.request("POST", "/v1/models/resnet/features?layers=avgpool,layer4&pool=mean", body: png,
                                                headers: ["Content-Type": "image/png"])
            #expect(raw.status == 200, "\(raw.text.prefix(300))")
            let rawFeatures = try FeatureRequests.features(raw)
            #expect(rawFeatures["avgpool"]?.shape == [1, 512] && rawFeatures["layer4"]?.shape == [1, 512])

            // The same image in JSON, answered as safetensors: the same numbers, bit for bit.
            let json = #"{"image":""# + Data(png).base64EncodedString() + #"","layers":["avgpool","layer4"],"pool":"mean"}"#
            let binary = try await service.post("/v1/models/resnet/features", json: json, headers: ["Accept": "application/octet-stream"])
            #expect(binary.status == 200 && binary.headers["content-type"] == "application/octet-stream")
            let parsed = try SafetensorsBytes.parse(binary.body)
            #expect(parsed.metadata["model"] == "resnet" && parsed.metadata["version"] == "1")
            for name in ["avgpool", "layer4"] { #expect(parsed.tensors[name]?.values == rawFeatures[name]?.values, "\(name)") }
            let versioned = try await service.post("/v1/models/resnet/versions/1/features", json: json)
            #expect(try FeatureRequests.features(versioned)["avgpool"]?.values == rawFeatures["avgpool"]?.values)

            // Too large an answer is refused before any forward pass runs.
            let executed = service.application.pool.executedJobCount
            let input = FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 9), layers: ["conv1"])
            let tooLarge = try await service.post("/v1/models/resnet/features", json: input)
            #expect(tooLarge.status == 413 && tooLarge.errorType == "response_too_large", "\(tooLarge.text)")
            #expect(service.application.pool.executedJobCount == executed)
            // float16 and base64 make the same layers fit.
            let smaller = try await service.post("/v1/models/resnet/features", json: FeatureRequests.tensorBody(
                randomTensor([1, 3, 16, 16], seed: 9), layers: ["layer1"], extra: #","dtype":"float16","encoding":"base64""#))
            #expect(smaller.status == 200, "\(smaller.text.prefix(200))")

            // Unknown layers are 404s that list the closest names.
            let unknown = try await service.post("/v1/models/resnet/features", json: FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 1), layers: ["layer5"]))
            #expect(unknown.status == 404 && unknown.errorType == "unknown_layer" && unknown.text.contains("layer4"), "\(unknown.text)")

            // Each bad input is a 4xx naming what is wrong.
            let cases: [(model: String, body: String, status: Int, mentions: String)] = [
                ("resnet", FeatureRequests.tensorBody(randomTensor([1, 3, 16], seed: 1), layers: ["fc"]), 400, "inputs.input"),
                ("resnet", FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 1), layers: ["99"]), 400, "out of range"),
                ("resnet", FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 1), layers: ["layer4"], extra: #","pool":"cls""#), 400, "pool"),
                ("resnet", #"{"inputs":{"input":{"shape":[1,3,1,1],"dtype":"float32","data":"AADAfwAAwH8AAMB/"}}}"#, 400, "NaN"),
                ("resnet", #"{"inputs":{"pixels":{"shape":[1],"data":[1]}}}"#, 400, "pixels"),
                ("resnet", #"{"text":"hello"}"#, 400, "text"),
                ("mlp", #"{"image":"iVBORw0KGgo="}"#, 400, "image"),
                ("mlp", #"{"inputs":{"input":{"shape":[1,8],"data":[1,2,3,4,5,6,7,8]}},"layers":["1"],"normalise":true}"#, 400, "normalise"),
                ("nothere", #"{"text":"hello"}"#, 404, "nothere"),
            ]
            for (model, body, status, mentions) in cases {
                let reply = try await service.post("/v1/models/\(model)/features", json: body)
                #expect(reply.status == status && reply.text.contains(mentions), "\(model) \(body.prefix(80)): \(reply.status) \(reply.text)")
                #expect(reply.errorType != nil)
            }
            let wrongType = try await service.request("POST", "/v1/models/mlp/features", body: Array("x".utf8), headers: ["Content-Type": "text/plain"])
            #expect(wrongType.status == 415 && wrongType.errorType == "unsupported_media_type")
            let noVersion = try await service.post("/v1/models/mlp/versions/7/features", json: #"{"inputs":{"input":{"shape":[1,8],"data":[1,2,3,4,5,6,7,8]}}}"#)
            #expect(noVersion.status == 404)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Backpressure over a socket: a deadline that passes in the queue is a 504, a client that
    /// hangs up before its job starts costs no compute (dropped in the pre-processing stage or in the
    /// queue, whichever notices first), a full queue is a 429 with Retry-After.
    @Test func deadlinesDisconnectionsAndAFullQueue() async throws {
        let service = try await LiveService.start([.mlp("mlp")], settings: ["workers": "1", "queue_size": "1"])
        do {
            let pool = service.application.pool
            let body = FeatureRequests.tensorBody(randomTensor([1, 8], seed: 1), layers: ["output"])
            let gate = Gate()
            let blocker = Task { try await pool.run { _ in gate.pass() } }
            try await gate.waitUntilEntered()
            let executed = pool.executedJobCount

            let late = try await service.post("/v1/models/mlp/features", json: body, headers: ["X-Request-Timeout-Ms": "100"])
            #expect(late.status == 504 && late.errorType == "deadline_exceeded", "\(late.text)")
            let tooLong = try await service.post("/v1/models/mlp/features", json: body, headers: ["X-Request-Timeout-Ms": "999999999"])
            #expect(tooLong.status == 400 && tooLong.text.contains("X-Request-Timeout-Ms"))

            func droppedForDisconnection() async throws -> Double {
                try ExpositionParser.parse(try await service.get("/metrics").text).samples
                    .filter { ["periscope_jobs_dropped_total", "periscope_preprocessing_rejected_total"].contains($0.name) && $0.labels["reason"] == "client_disconnected" }
                    .reduce(0) { $0 + $1.value }
            }
            try RawSocket.sendAndClose(port: service.port, RawSocket.post(path: "/v1/models/mlp/features", json: body))
            #expect(try await eventually { try await droppedForDisconnection() == 1 && pool.queueDepth == 0 }, "the disconnected client's job was not dropped")

            let queued = Task { try await service.post("/v1/models/mlp/features", json: body) }
            #expect(await eventually { pool.queueDepth == 1 })
            let refused = try await service.post("/v1/models/mlp/features", json: body)
            #expect(refused.status == 429 && refused.errorType == "queue_full")
            #expect((refused.headers["retry-after"].flatMap { Int($0) } ?? 0) >= 1)

            gate.open()
            try await blocker.value
            #expect(try await queued.value.status == 200)
            // The queued request ran (the blocker was counted when it started, before `executed` was
            // read); the late, the disconnected and the refused ones did not.
            #expect(pool.executedJobCount == executed + 1)
            let metrics = try await service.get("/metrics").text
            #expect(metrics.contains(#"periscope_jobs_dropped_total{reason="deadline_exceeded"} 1"#))
            #expect(metrics.contains(#"periscope_requests_total{model="mlp",endpoint="features",status="429"} 1"#))
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}

// MARK: - A forward pass that throws

extension FeatureEndpointsTests {
    /// An error no layer maps to a status (here thrown by a one-shot forward pre-hook on the
    /// worker's replica, which removes itself first, since a worker drops a replica that keeps
    /// hooks after a job) fails only its request: 500 naming the request id, the capture hooks
    /// removed despite the throw, and the same worker serves the next request.
    @Test func aForwardPassThatThrowsIsA500WithItsRequestIdAndTheWorkerKeepsServing() async throws {
        struct InjectedFault: Error {}
        final class HandleBox { var handle: HookHandle? }
        let service = try await LiveService.start([.mlp("mlp")], settings: ["workers": "1"])
        do {
            let application = service.application
            let model = try #require(application.manager.readyModel(ModelKey(name: "mlp", version: 1)))
            // Traces (and caches) the catalog of this input shape first, so the next job on the
            // worker is the marked request's forward pass.
            #expect(try await service.post("/v1/models/mlp/features", json: RegistryEndpointsTests.mlpInput).status == 200)
            let injected = try await application.pool.onEveryWorker { context in
                let replica = try context.replica(for: model)
                let box = HandleBox()
                box.handle = replica.module.registerForwardPreHook { _, _ in
                    box.handle?.remove()
                    throw InjectedFault()
                }
                return replica.module.hookCount
            }
            #expect(injected == [1])
            let failed = try await service.post("/v1/models/mlp/features", json: RegistryEndpointsTests.mlpInput, headers: ["X-Request-Id": "fault-1"])
            #expect(failed.status == 500 && failed.errorType == "internal", "\(failed.text)")
            #expect(failed.headers["x-request-id"] == "fault-1" && failed.text.contains("fault-1"), "\(failed.text)")
            #expect(try await application.pool.hookCounts() == [0], "hooks left on the replica after the throw")
            let next = try await service.post("/v1/models/mlp/features", json: RegistryEndpointsTests.mlpInput)
            #expect(next.status == 200, "\(next.text)")
            #expect(try await application.pool.onEveryWorker { $0.hasReplica(of: model) } == [true], "the worker kept its replica")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
