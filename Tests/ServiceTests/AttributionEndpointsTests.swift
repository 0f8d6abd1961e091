import Foundation
import HTTP
import Models
import NN
import Tensors
import Testing
import TestSupport
@testable import Service

/// `POST /v1/models/{name}/attributions` over a real socket: the maps equal
/// `InferenceModel.attribute` run directly (whose parity with PyTorch the Models tests check), in
/// every encoding; bad requests are 4xx naming the field, before queueing where the catalog can
/// tell; replicas keep no hooks, also after a job that throws; access control, deadlines and the
/// queue as for features.
@Suite struct AttributionEndpointsTests {
    /// `request` run directly on a fresh replica of `model`.
    static func direct(_ model: LoadedModel, _ request: Attribution, inputs: [String: Tensor]) throws -> CapturedFeatures {
        try model.makeReplica().attribute(request, inputs: inputs)
    }

    /// Expects the attributions of `reply` to hold exactly the maps of `expected` (names and shapes),
    /// equal within float32 rounding of a different thread count.
    static func expectEqual(_ reply: LiveReply, _ expected: CapturedFeatures, _ label: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(reply.status == 200, "\(label): \(reply.text.prefix(300))", sourceLocation: sourceLocation)
        let got = try FeatureRequests.features(reply, key: "attributions")
        #expect(Set(got.keys) == Set(expected.names), "\(label): \(got.keys.sorted())", sourceLocation: sourceLocation)
        for (name, reference) in expected {
            let value = try #require(got[name], sourceLocation: sourceLocation)
            #expect(value.shape == reference.shape, "\(label) \(name)", sourceLocation: sourceLocation)
            let gap = try #require(difference(Tensor(shape: value.shape, scalars: value.values), reference), sourceLocation: sourceLocation)
            #expect(gap.referenceMaxMagnitude > 0 && gap.maxAbsoluteError <= 1e-5 * gap.referenceMaxMagnitude, "\(label) \(name): \(gap)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func mapsMatchTheLibraryInEveryEncoding() async throws {
        let service = try await LiveService.start([.resnet("resnet"), .bert("bert")])
        do {
            let resnet = try TestModels.resnet.get()
            let image = randomTensor([2, 3, 16, 16], seed: 11)
            let cases: [(json: String, target: AttributionTarget, method: AttributionMethod, layers: [String])] = [
                (#"{"class": 3}"#, .classIndex(3), .saliency, ["layer4", "layer1.0.conv1"]),
                (#"{"output_index": [1, 7]}"#, .outputIndex([1, 7]), .gradcam, ["layer3", "layer4"]),
                (#"{"layer": "layer2", "reduce": "l2"}"#, .layerNorm(layer: "layer2"), .saliency, []),
            ]
            for (json, target, method, layers) in cases {
                let body = FeatureRequests.attributionBody(image, target: json, method: method.rawValue, layers: layers)
                let reply = try await service.post("/v1/models/resnet/attributions", json: body)
                let expected = try Self.direct(resnet, Attribution(target: target, method: method, layers: layers.map { .name($0) }),
                                               inputs: ["input": image])
                try Self.expectEqual(reply, expected, "resnet \(method) \(json)")
                #expect(reply.headers["x-request-id"] != nil)
            }
            #expect(try await service.get("/metrics").text.contains(#"periscope_requests_total{model="resnet",endpoint="attributions",status="200"} 3"#))

            // The same maps as a safetensors body (bit for bit what JSON says), and as float16 base64.
            let body = FeatureRequests.attributionBody(image, target: #"{"class": 3}"#, method: "saliency", layers: ["layer4"])
            let json = try FeatureRequests.features(try await service.post("/v1/models/resnet/attributions", json: body), key: "attributions")
            let binary = try await service.post("/v1/models/resnet/attributions", json: body, headers: ["Accept": "application/octet-stream"])
            #expect(binary.status == 200 && binary.headers["content-type"] == "application/octet-stream")
            let parsed = try SafetensorsBytes.parse(binary.body)
            #expect(parsed.metadata["model"] == "resnet" && parsed.metadata["version"] == "1" && parsed.metadata["timing_ms"] != nil)
            #expect(Set(parsed.tensors.keys) == ["input_grad", "grad:layer4"])
            for (name, value) in parsed.tensors {
                #expect(value.shape == json[name]?.shape && value.values == json[name]?.values, "\(name)")
            }
            let half = try await service.post("/v1/models/resnet/attributions", json: FeatureRequests.attributionBody(
                image, target: #"{"class": 3}"#, method: "saliency", layers: ["layer4"], extra: #","dtype":"float16","encoding":"base64""#))
            let gradient = try #require(half.json().objectValue?["attributions"]?.objectValue?["grad:layer4"]?.objectValue)
            #expect(gradient["dtype"]?.stringValue == "float16" && gradient["encoding"]?.stringValue == "base64")
            let bytes = try Base64.decode(try #require(gradient["data"]?.stringValue))
            #expect(bytes.count == 2 * (json["grad:layer4"]?.values.count ?? 0))

            // BERT from text: input_grad is the gradient at the word embeddings; aliases work in the target.
            let bert = try TestModels.bert.get()
            let texts = ["Periscope looks inside networks.", "a b"]
            let textBody = #"{"text": ["Periscope looks inside networks.", "a b"], "target": {"layer": "pooler_output", "reduce": "l2"}, "method": "saliency", "layers": ["encoder.layer.0"]}"#
            let expected = try Self.direct(bert, Attribution(target: .layerNorm(layer: "pooler_output"), layers: ["encoder.layer.0"]),
                                           inputs: try bert.tokenize(texts))
            #expect(expected.names == ["input_grad", "grad:encoder.layer.0"])
            try Self.expectEqual(try await service.post("/v1/models/bert/attributions", json: textBody), expected, "bert")
            #expect(try await service.application.pool.hookCounts() == [0, 0])
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Integrated Gradients and SmoothGrad over HTTP equal the library's maps; their steps are
    /// batched within `attribution_memory_bytes`, and a request whose single evaluation is over it
    /// is a 413 naming the setting, leaving no hooks.
    @Test func inputAttributionsWithinTheMemoryBudget() async throws {
        let service = try await LiveService.start([.resnet("resnet")], settings: ["attribution_memory_bytes": "2097152"])
        do {
            let resnet = try TestModels.resnet.get()
            let image = randomTensor([1, 3, 16, 16], seed: 5)
            let extra = #","steps":5,"integration":"riemann_middle","baseline":0.1"#
            let body = FeatureRequests.attributionBody(image, target: #"{"class": 4}"#, method: "integrated_gradients", layers: [], extra: extra)
            let reply = try await service.post("/v1/models/resnet/attributions", json: body)
            let options = InputAttributionOptions(steps: 5, rule: .riemannMiddle, baseline: 0.1)
            let expected = try Self.direct(resnet, Attribution(target: .classIndex(4), method: .integratedGradients, inputAttribution: options),
                                           inputs: ["input": image])
            #expect(expected.names == ["integrated_gradients"])
            try Self.expectEqual(reply, expected, "integrated_gradients")

            let smooth = FeatureRequests.attributionBody(image, target: #"{"class": 4}"#, method: "smoothgrad", layers: [],
                                                         extra: #","samples":3,"noise_stddev":0.2,"seed":9"#)
            let smoothExpected = try Self.direct(resnet, Attribution(target: .classIndex(4), method: .smoothGrad,
                                                                     inputAttribution: InputAttributionOptions(samples: 3, noiseStandardDeviation: 0.2, seed: 9)),
                                                 inputs: ["input": image])
            try Self.expectEqual(try await service.post("/v1/models/resnet/attributions", json: smooth), smoothExpected, "smoothgrad")

            // 64×64 images: one evaluation holds more activations than the 2 MiB budget.
            let large = FeatureRequests.attributionBody(randomTensor([2, 3, 64, 64], seed: 6), target: #"{"class": 4}"#,
                                                        method: "integrated_gradients", layers: [])
            let refused = try await service.post("/v1/models/resnet/attributions", json: large)
            #expect(refused.status == 413 && refused.text.contains("attribution_memory_bytes") && refused.text.contains("fewer inputs"),
                    "\(refused.status) \(refused.text)")
            #expect(try await service.application.pool.hookCounts().allSatisfy { $0 == 0 })
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// BERT's token ids over HTTP: integrated_gradients and input_x_gradient are taken at the word
    /// embeddings' output ([N, S, hidden]) with the per-token sums ([N, S], `<method>:tokens`),
    /// equal to the library's, one value per token aligned with `text_inputs`' counts; a baseline
    /// token outside the vocabulary is a 400 naming `baseline_token`.
    @Test func tokenAttributionsOverText() async throws {
        let service = try await LiveService.start([.bert("bert")])
        do {
            let bert = try TestModels.bert.get()
            let texts = ["Periscope looks inside networks.", "a b"]
            let body = #"{"text": ["Periscope looks inside networks.", "a b"], "target": {"layer": "pooler_output", "reduce": "l2"}, "#
                + #""method": "integrated_gradients", "steps": 8, "integration": "riemann_trapezoid", "baseline_token": 100}"#
            let reply = try await service.post("/v1/models/bert/attributions", json: body)
            let options = InputAttributionOptions(steps: 8, rule: .riemannTrapezoid, tokenBaseline: .token(100))
            let expected = try Self.direct(bert, Attribution(target: .layerNorm(layer: "pooler_output"), method: .integratedGradients,
                                                             inputAttribution: options), inputs: try bert.tokenize(texts))
            #expect(expected.names == ["integrated_gradients", "integrated_gradients:tokens"])
            try Self.expectEqual(reply, expected, "integrated_gradients")
            let counts = try #require(reply.json().objectValue?["text_inputs"]?.arrayElements).compactMap { $0.objectValue?["tokens"]?.numberValue?.intValue }
            let maps = try FeatureRequests.features(reply, key: "attributions")
            let tokens = try #require(maps["integrated_gradients:tokens"]), map = try #require(maps["integrated_gradients"])
            let length = tokens.shape[1]
            #expect(counts.count == 2 && counts[0] == length && counts[1] < length && map.shape == [2, length, 32], "\(counts) \(map.shape)")

            let product = #"{"text": ["Periscope looks inside networks.", "a b"], "target": {"output_index": [0, 1, 3]}, "method": "input_x_gradient"}"#
            let productExpected = try Self.direct(bert, Attribution(target: .outputIndex([0, 1, 3]), method: .inputXGradient),
                                                  inputs: try bert.tokenize(texts))
            try Self.expectEqual(try await service.post("/v1/models/bert/attributions", json: product), productExpected, "input_x_gradient")

            let refused = try await service.post("/v1/models/bert/attributions",
                                                 json: #"{"text": "hello", "target": {"output_index": [0, 0, 0]}, "method": "integrated_gradients", "baseline_token": 99999}"#)
            #expect(refused.status == 400 && refused.text.contains("baseline_token"), "\(refused.status) \(refused.text)")
            #expect(try await service.application.pool.hookCounts().allSatisfy { $0 == 0 })
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Attention rollout over HTTP equals the library's map: ViT and CLIP images on the patch grid
    /// upsampled to the image (with head fusion and discarding), BERT texts per token with padding
    /// zero, in JSON and safetensors. Models without self-attention, CLIP text, a target or layers
    /// are 400s naming the field (the first ones before queueing); no hooks are left.
    @Test func attentionRolloutMatchesTheLibrary() async throws {
        let service = try await LiveService.start([.vit("vit"), .clip("clip"), .bert("bert"), .resnet("resnet")])
        do {
            let pool = service.application.pool
            let image = randomTensor([2, 3, 32, 32], seed: 31)
            let vit = try TestModels.vit.get()
            let vitBody = "{" + FeatureRequests.inputsMember(image) + #","method":"attention_rollout"}"#
            let vitExpected = try Self.direct(vit, .attentionRollout(), inputs: ["input": image])
            #expect(vitExpected[Attribution.attentionRolloutKey]?.shape == [2, 1, 32, 32])
            try Self.expectEqual(try await service.post("/v1/models/vit/attributions", json: vitBody), vitExpected, "vit")

            let tuned = AttentionRolloutOptions(headFusion: .max, discardRatio: 0.5)
            let clipBody = "{" + FeatureRequests.inputsMember(image, name: "pixel_values")
                + #","method":"attention_rollout","head_fusion":"max","discard_ratio":0.5}"#
            let clipExpected = try Self.direct(try TestModels.clip.get(), .attentionRollout(tuned), inputs: ["pixel_values": image])
            try Self.expectEqual(try await service.post("/v1/models/clip/attributions", json: clipBody), clipExpected, "clip max 0.5")
            let binary = try await service.post("/v1/models/clip/attributions", json: clipBody, headers: ["Accept": "application/octet-stream"])
            let parsed = try SafetensorsBytes.parse(binary.body)
            #expect(parsed.tensors.keys.sorted() == ["attention_rollout"])
            #expect(parsed.tensors["attention_rollout"]?.values == (try FeatureRequests.features(
                try await service.post("/v1/models/clip/attributions", json: clipBody), key: "attributions"))["attention_rollout"]?.values)

            let bert = try TestModels.bert.get()
            let texts = ["Periscope looks inside networks.", "a b"]
            let textReply = try await service.post("/v1/models/bert/attributions", json: #"{"text": ["Periscope looks inside networks.", "a b"], "method": "attention_rollout"}"#)
            let textExpected = try Self.direct(bert, .attentionRollout(), inputs: try bert.tokenize(texts))
            try Self.expectEqual(textReply, textExpected, "bert")
            // One value per token, aligned with text_inputs' counts: the shorter text's padding is zero.
            let counts = try #require(textReply.json().objectValue?["text_inputs"]?.arrayElements).compactMap { $0.objectValue?["tokens"]?.numberValue?.intValue }
            let map = try #require(try FeatureRequests.features(textReply, key: "attributions")["attention_rollout"])
            let length = map.shape[1]
            #expect(counts.count == 2 && counts[0] == length && counts[1] < length && map.shape == [2, length])
            let second = map.values[length...]
            #expect(second.prefix(counts[1]).allSatisfy { $0 > 0 } && second.dropFirst(counts[1]).allSatisfy { $0 == 0 }, "\(map.values)")

            _ = try await pool.hookCounts()
            let executed = pool.executedJobCount
            let refusals: [(model: String, body: String, mentions: [String])] = [
                ("resnet", "{" + FeatureRequests.inputsMember(randomTensor([1, 3, 16, 16], seed: 2)) + #","method":"attention_rollout"}"#,
                 ["method: attention_rollout needs a transformer", "resnet"]),
                ("vit", "{" + FeatureRequests.inputsMember(image) + #","method":"attention_rollout","target":{"class":1}}"#, ["target", "takes no target"]),
                ("vit", "{" + FeatureRequests.inputsMember(image) + #","method":"attention_rollout","layers":["encoder"]}"#, ["layers", "takes no layers"]),
                ("vit", "{" + FeatureRequests.inputsMember(image) + #","method":"attention_rollout","discard_ratio":1.5}"#, ["discard_ratio"]),
            ]
            for (model, body, mentions) in refusals {
                let reply = try await service.post("/v1/models/\(model)/attributions", json: body)
                #expect(reply.status == 400 && reply.errorType == "bad_request", "\(model): \(reply.status) \(reply.text)")
                for text in mentions { #expect(reply.text.contains(text), "\(model): \(reply.text) lacks \(text)") }
            }
            #expect(pool.executedJobCount == executed, "a refused rollout reached a worker")
            let clipText = try await service.post("/v1/models/clip/attributions", json: #"{"text": ["a photo"], "method": "attention_rollout"}"#)
            #expect(clipText.status == 400 && clipText.text.contains("needs an image"), "\(clipText.text)")
            #expect(try await pool.hookCounts() == [0, 0])
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Every bad request is a 4xx naming the field; those the catalog can judge are refused
    /// before any job is queued; one only a forward pass can judge (BERT's sequence axis) fails on
    /// the worker and leaves no hooks.
    @Test func invalidRequestsNameTheFieldAndLeaveNoHooks() async throws {
        let service = try await LiveService.start([.resnet("resnet"), .bert("bert")], settings: ["max_response_bytes": "60000"])
        do {
            let pool = service.application.pool
            let image = randomTensor([1, 3, 16, 16], seed: 5)
            func resnet(_ target: String, _ method: String = "saliency", _ layers: [String] = [], extra: String = "") -> String {
                FeatureRequests.attributionBody(image, target: target, method: method, layers: layers, extra: extra)
            }
            func bert(_ target: String, _ method: String = "saliency", _ layers: String = "[]") -> String {
                #"{"text": "hello there", "target": \#(target), "method": "\#(method)", "layers": \#(layers)}"#
            }
            // Warm the catalogs of these input shapes: validation then needs no worker at all.
            #expect(try await service.post("/v1/models/resnet/attributions", json: resnet(#"{"class": 1}"#)).status == 200)
            #expect(try await service.post("/v1/models/bert/attributions", json: bert(#"{"output_index": [0, 1, 2]}"#)).status == 200)
            // A job is counted just after its answer: once every worker has run a control item, it is.
            _ = try await pool.hookCounts()
            let executed = pool.executedJobCount

            let cases: [(model: String, body: String, status: Int, errorType: String, mentions: [String])] = [
                ("resnet", resnet(#"{"class": 1000}"#), 400, "bad_request", ["target", "out of range"]),
                ("resnet", resnet(#"{"output_index": [0]}"#), 400, "bad_request", ["target", "needs 2 entries"]),
                ("resnet", resnet(#"{"output_index": [0, 1000]}"#), 400, "bad_request", ["target", "out of range"]),
                ("resnet", resnet(#"{"class": 1}"#, "gradcam", ["fc"]), 400, "bad_request", ["layers", "[N, C, H, W]", "fc"]),
                ("resnet", resnet(#"{"class": 1}"#, "saliency", ["layer5"]), 404, "unknown_layer", ["layers: unknown layer 'layer5'", "layer4"]),
                ("resnet", resnet(#"{"class": 1}"#, "gradcam", ["layer9.*"]), 404, "unknown_layer", ["layers: no layer matches", "layer"]),
                ("resnet", resnet(#"{"layer": "layer9", "reduce": "l2"}"#, "saliency", ["layer4"]), 404, "unknown_layer",
                 ["target.layer: unknown layer 'layer9'", "layer4"]),
                ("resnet", resnet(#"{"layer": "layer1.*", "reduce": "l2"}"#), 400, "bad_request", ["target", "one layer call"]),
                ("resnet", resnet(#"{"class": 1}"#, "occlusion"), 400, "bad_request", ["method", "saliency, gradcam"]),
                ("resnet", resnet(#"{"class": -1}"#), 400, "bad_request", ["target.class"]),
                ("resnet", resnet(#"{"class": 1}"#, "saliency", ["conv1"]), 413, "response_too_large", ["60000"]),
                ("resnet", #"{"text": "hello", "target": {"class": 1}, "method": "saliency"}"#, 400, "bad_request", ["text"]),
                ("bert", bert(#"{"class": 0}"#), 400, "bad_request", ["target", "[N, classes]"]),
                ("bert", bert(#"{"class": 0}"#, "gradcam", #"["encoder.layer.0"]"#), 400, "bad_request", ["layers", "[N, C, H, W]"]),
                ("bert", bert(#"{"output_index": [0, 0, 32]}"#), 400, "bad_request", ["target", "out of range"]),
                ("nothere", bert(#"{"class": 0}"#), 404, "not_found", ["nothere"]),
            ]
            for (model, body, status, errorType, mentions) in cases {
                let reply = try await service.post("/v1/models/\(model)/attributions", json: body)
                #expect(reply.status == status && reply.errorType == errorType, "\(model) \(body.suffix(120)): \(reply.status) \(reply.text)")
                for text in mentions { #expect(reply.text.contains(text), "\(model) \(body.suffix(120)): \(reply.text) lacks \(text)") }
                #expect(pool.executedJobCount == executed, "\(model) \(body.suffix(120)) reached a worker")
            }
            let wrongType = try await service.request("POST", "/v1/models/resnet/attributions", body: Array("x".utf8),
                                                      headers: ["Content-Type": "image/png"])
            #expect(wrongType.status == 415 && wrongType.errorType == "unsupported_media_type")
            #expect(pool.executedJobCount == executed, "a request that the catalog refuses reached a worker")

            // The sequence axis depends on the text: checked by the forward pass, which throws with its hooks on.
            let late = try await service.post("/v1/models/bert/attributions", json: bert(#"{"output_index": [0, 40, 0]}"#, "saliency", #"["encoder.layer.1"]"#))
            #expect(late.status == 400 && late.text.contains("target") && late.text.contains("out of range"), "\(late.text)")
            #expect(try await pool.hookCounts() == [0, 0])
            #expect(pool.executedJobCount == executed + 1)
            #expect(try await service.get("/metrics").text.contains("\nperiscope_active_hooks 0\n"))
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// The infer scope, as for features: no token or an unknown one 401, an admin-only token 403.
    @Test func accessControl() async throws {
        let adminOnly = "admin-only-0123456789abcdef0123456789", infer = "infer-0123456789abcdef0123456789abcdef"
        let service = try await LiveService.start([.mlp("mlp")], accessControl: AccessControl(tokens: [(adminOnly, [.admin]), (infer, [.infer])]))
        do {
            let body = FeatureRequests.attributionBody(randomTensor([2, 8], seed: 3), target: #"{"class": 2}"#, method: "saliency", layers: ["1"])
            for (token, status) in [(nil, 401), ("not-a-token", 401), (adminOnly, 403), (infer, 200)] {
                let reply = try await service.post("/v1/models/mlp/attributions", json: body,
                                                   headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
                #expect(reply.status == status, "\(token ?? "no token"): \(reply.text)")
                if status == 200 {
                    let expected = try Self.direct(try TestModels.mlp.get(), Attribution(target: .classIndex(2), layers: ["1"]),
                                                   inputs: ["input": randomTensor([2, 8], seed: 3)])
                    try Self.expectEqual(reply, expected, "mlp")
                }
            }
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Attribution jobs share the feature queue: a deadline that passes in the queue is a 504, a
    /// full queue a 429.
    @Test func deadlinesAndAFullQueue() async throws {
        let service = try await LiveService.start([.mlp("mlp")], settings: ["workers": "1", "queue_size": "1"])
        do {
            let pool = service.application.pool
            let body = FeatureRequests.attributionBody(randomTensor([1, 8], seed: 1), target: #"{"class": 0}"#, method: "saliency", layers: [])
            let gate = Gate()
            let blocker = Task { try await pool.run { _ in gate.pass() } }
            try await gate.waitUntilEntered()
            let late = try await service.post("/v1/models/mlp/attributions", json: body, headers: ["X-Request-Timeout-Ms": "100"])
            #expect(late.status == 504 && late.errorType == "deadline_exceeded", "\(late.text)")
            let queued = Task { try await service.post("/v1/models/mlp/attributions", json: body) }
            #expect(await eventually { pool.queueDepth == 1 })
            let refused = try await service.post("/v1/models/mlp/attributions", json: body)
            #expect(refused.status == 429 && refused.errorType == "queue_full" && refused.headers["retry-after"] != nil)
            gate.open()
            try await blocker.value
            let answered = try await queued.value
            #expect(answered.status == 200, "\(answered.text)")
            #expect(try FeatureRequests.features(answered, key: "attributions").keys.sorted() == ["input_grad"])
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
