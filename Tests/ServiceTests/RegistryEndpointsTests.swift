import Foundation
import Models
import Registry
import Tensors
import Testing
import TestSupport
@testable import Service

/// The native registry endpoints and the model lifecycle behind them, over a real socket.
@Suite struct RegistryEndpointsTests {
    static let mlpInput = #"{"inputs":{"input":{"shape":[1,8],"data":[1,2,3,4,5,6,7,8]}},"layers":["output"]}"#

    /// Registration by path and by a streamed upload larger than the buffered-body limit; refused
    /// uploads leave nothing behind; listing, showing, layers, and removal.
    @Test func registerUploadListAndRemove() async throws {
        let service = try await LiveService.start([.mlp("mlp")], settings: ["http.max_body_bytes": "65536"])
        do {
            let registry = service.application.registry
            // By path: a file under the model root, registered in place once it loads.
            try FileManager.default.copyItem(atPath: registry.modelRoot.absolutePath("mlp/model.safetensors"),
                                             toPath: registry.modelRoot.absolutePath("copy.safetensors"))
            let byPath = try await service.post("/v1/models", json: #"{"name":"second","architecture":"mlp","weights_path":"copy.safetensors","config":"# + LiveService.mlpConfiguration + #","labels":{"team":"x"},"description":"d"}"#)
            #expect(byPath.status == 201, "\(byPath.text)")
            #expect(byPath.headers["location"] == "/v1/models/second")
            #expect(try byPath.json().objectValue?["owns_weights_file"]?.boolValue == false)
            #expect(try await service.post("/v1/models/second/features", json: Self.mlpInput).status == 200)

            // A streamed upload of 4 MB, past http.max_body_bytes (64 KiB): only a streamed body gets through.
            let weights = Array(try Data(contentsOf: Fixtures.url("bert_tiny/model.safetensors")))
            let bertConfiguration = try String(contentsOf: Fixtures.url("bert_tiny/config.json"), encoding: .utf8)
            let configuration = bertConfiguration.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let upload = try await service.request("POST", "/v1/models?name=uploaded&architecture=bert&config=\(configuration)&labels=a=1,b=2&preload=false&sha256=\(SHA256.hexString(SHA256.hash(weights)))",
                                                   body: weights, headers: ["Content-Type": "application/octet-stream"])
            #expect(upload.status == 201, "\(upload.text)")
            let record = try upload.json().objectValue
            #expect(record?["byte_size"]?.numberValue?.intValue == weights.count)
            #expect(record?["owns_weights_file"]?.boolValue == true)
            #expect(record?["weights_path"]?.stringValue == "uploaded/1/model.safetensors")
            let layers = try await service.get("/v1/models/uploaded/layers")
            #expect(layers.status == 200 && layers.text.hasPrefix(#"{"model":{"name":"uploaded","version":1},"layers":[{"name":"embeddings","type":"BertEmbeddings","output_shape":[1,16,32],"calls":1,"parameters":"#), "\(layers.text.prefix(200))")

            // Refused uploads: a checksum that does not match, bytes that are not weights of the architecture.
            let mismatch = try await service.request("POST", "/v1/models?name=bad&architecture=bert&config=\(configuration)&sha256=\(String(repeating: "0", count: 64))",
                                                     body: weights, headers: ["Content-Type": "application/octet-stream"])
            #expect(mismatch.status == 400 && mismatch.text.contains("SHA-256"), "\(mismatch.text)")
            let mlpConfiguration = LiveService.mlpConfiguration.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let garbage = try await service.request("POST", "/v1/models?name=bad&architecture=mlp&config=\(mlpConfiguration)", body: Array(repeating: 7, count: 100_000),
                                                    headers: ["Content-Type": "application/octet-stream"])
            #expect(garbage.status == 400 && garbage.text.contains("weights"), "\(garbage.text)")
            let unknownArchitecture = try await service.request("POST", "/v1/models?name=bad&architecture=lenet", body: [1, 2, 3],
                                                                headers: ["Content-Type": "application/octet-stream"])
            #expect(unknownArchitecture.status == 400 && unknownArchitecture.text.contains("resnet50"))
            #expect(try await service.get("/v1/models/bad").status == 404)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: registry.modelRoot.uploadsPath)
            #expect(leftovers.isEmpty, "\(leftovers)")
            let outside = try await service.post("/v1/models", json: #"{"name":"x","architecture":"mlp","weights_path":"../../etc/passwd","config":"# + LiveService.mlpConfiguration + "}")
            #expect(outside.status == 400 && outside.text.contains("outside the model root"), "\(outside.text)")
            #expect(try await service.request("POST", "/v1/models", body: [1], headers: ["Content-Type": "text/plain"]).status == 415)

            let list = try await service.get("/v1/models")
            let names = try list.json().objectValue?["models"]?.arrayElements?.compactMap { $0.objectValue?["name"]?.stringValue }
            #expect(names == ["mlp", "second", "uploaded"])
            let shown = try await service.get("/v1/models/second")
            #expect(shown.status == 200 && shown.text.contains(#""labels":{"team":"x"}"#) && shown.text.contains(#""default_version":1"#))
            #expect(try await service.get("/v1/models/BAD!").status == 400)

            // Removal: the version, then 404; a removed model's own upload is deleted.
            #expect(try await service.request("DELETE", "/v1/models/uploaded/versions/1").status == 204)
            #expect(!FileManager.default.fileExists(atPath: registry.modelRoot.absolutePath("uploaded/1/model.safetensors")))
            #expect(try await service.get("/v1/models/uploaded").status == 404)
            #expect(try await service.request("DELETE", "/v1/models/second").status == 204)
            #expect(try await service.post("/v1/models/second/features", json: Self.mlpInput).status == 404)
            #expect(FileManager.default.fileExists(atPath: registry.modelRoot.absolutePath("copy.safetensors")), "a file registered in place stays")
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// Precision is per version: recorded, listed, shown in the V2 metadata and the metrics' labels;
    /// int8 serves its own (close, not equal) values; bfloat16 serves its own where the CPU has
    /// AVX512_BF16 and, without the feature, fails to load naming it while the other models keep
    /// serving; an unknown name is a 400 naming the field.
    @Test func precisionIsPerVersion() async throws {
        let service = try await LiveService.start([.mlp("mlp")])
        do {
            let registry = service.application.registry
            try FileManager.default.copyItem(atPath: registry.modelRoot.absolutePath("mlp/model.safetensors"),
                                             toPath: registry.modelRoot.absolutePath("copy.safetensors"))
            func register(_ name: String, _ precision: String) async throws -> LiveReply {
                try await service.post("/v1/models", json: #"{"name":""# + name + #"","architecture":"mlp","weights_path":"copy.safetensors","config":"#
                                       + LiveService.mlpConfiguration + #","precision":""# + precision + #""}"#)
            }
            let quantized = try await register("quant", "int8")
            let recorded = try quantized.json().objectValue?["precision"]?.stringValue
            #expect(quantized.status == 201 && recorded == "int8", "\(quantized.text)")
            #expect(try await register("brain", "bfloat16").status == 201)
            let unknown = try await register("bad", "fp8")
            #expect(unknown.status == 400 && unknown.text.contains("precision: 'fp8' is not one of: float32, bfloat16, int8"), "\(unknown.text)")
            #expect(try await service.get("/v1/models/bad").status == 404)

            let float32 = try await service.post("/v1/models/mlp/features", json: Self.mlpInput)
            let int8 = try await service.post("/v1/models/quant/features", json: Self.mlpInput)
            #expect(float32.status == 200 && int8.status == 200, "\(int8.text)")
            func output(_ reply: LiveReply) throws -> [Double] {
                try reply.json().objectValue?["features"]?.objectValue?["output"]?.objectValue?["data"]?.arrayElements?
                    .compactMap { $0.numberValue?.doubleValue } ?? []
            }
            let (reference, approximate) = (try output(float32), try output(int8))
            #expect(reference.count == 4 && approximate.count == 4 && reference != approximate)
            for (a, b) in zip(reference, approximate) { #expect(abs(a - b) <= 0.05 * max(1, abs(a)), "\(reference) vs \(approximate)") }

            let listed = try await service.get("/v1/models")
            #expect(listed.text.contains(#""name":"quant","version":1,"#) && listed.text.contains(#""precision":"int8""#))
            #expect(listed.text.contains(#""precision":"float32""#))
            #expect(try await service.get("/v2/models/quant").text.contains(#""precision":"int8""#))
            let metrics = try await service.get("/metrics").text
            #expect(metrics.contains(#"periscope_compute_seconds_count{model="quant",precision="int8"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"periscope_compute_seconds_count{model="mlp",precision="float32"} 1"#))

            let brain = try await service.post("/v1/models/brain/features", json: Self.mlpInput)
            if let reason = ComputePrecision.bfloat16.unavailableReason {
                // The CPU lacks AVX512_BF16 (checked): the version fails to load, naming the feature.
                #expect(brain.status == 503 && brain.errorType == "model_failed" && brain.text.contains(reason), "\(brain.text)")
                #expect(try registry.version(name: "brain").status == .failed(reason: ModelError.unsupportedPrecision("bfloat16", reason: reason).description))
            } else {
                // The CPU has it: the version serves bf16 values, close to float32's, not equal.
                #expect(brain.status == 200, "\(brain.text)")
                let bfloat16 = try output(brain)
                #expect(bfloat16.count == 4 && bfloat16 != reference)
                for (a, b) in zip(reference, bfloat16) { #expect(abs(a - b) <= 0.02 * max(1, abs(a)), "\(reference) vs \(bfloat16)") }
                #expect(try await service.get("/v2/models/brain").text.contains(#""precision":"bfloat16""#))
            }
            #expect(try await service.post("/v1/models/mlp/features", json: Self.mlpInput).status == 200, "the other models still serve")
            #expect(try await service.post("/v1/models/quant/features", json: Self.mlpInput).status == 200)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }

    /// A corrupted weights file makes its model `failed` (with the reason) while the others serve;
    /// unloading frees the replicas and the next request loads the model again.
    @Test func loadFailureUnloadAndReload() async throws {
        let service = try await LiveService.start([.mlp("mlp"), .mlp("other")])
        do {
            let application = service.application
            // Corrupt `other`'s weights on disk (same size, different bytes), then ask for a reload.
            #expect(try await service.post("/v1/models/other/unload", json: "").status == 200)
            let path = application.registry.modelRoot.absolutePath("other/model.safetensors")
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count - 1] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let load = try await service.post("/v1/models/other/load", json: "")
            #expect(load.status == 200)
            #expect(try load.json().objectValue?["status"]?.stringValue == "failed")
            #expect(try load.json().objectValue?["status_reason"]?.stringValue?.contains("SHA-256") == true, "\(load.text)")
            let refused = try await service.post("/v1/models/other/features", json: Self.mlpInput)
            #expect(refused.status == 503 && refused.errorType == "model_failed")
            #expect(try await service.post("/v1/models/mlp/features", json: Self.mlpInput).status == 200, "the other model still serves")
            #expect(try await service.get("/readyz").status == 200)
            let repository = try await service.post("/v2/repository/models/other/load", json: "")
            #expect(repository.status == 400 && repository.text.contains("SHA-256"))
            let index = try await service.post("/v2/repository/index", json: "{}")
            #expect(index.text.contains(#"{"name":"other","version":"1","state":"UNAVAILABLE","reason":"weights file"#), "\(index.text)")
            #expect(index.text.contains(#"{"name":"mlp","version":"1","state":"READY"}"#))

            // Unload: every worker drops its replica; the next request loads it again.
            let model = try #require(application.manager.readyModel(ModelKey(name: "mlp", version: 1)))
            let unloaded = try await service.post("/v1/models/mlp/unload", json: "")
            #expect(try unloaded.json().objectValue?["status"]?.stringValue == "unloaded")
            #expect(model.isRetired)
            #expect(try await application.pool.onEveryWorker { $0.hasReplica(of: model) } == [false, false])
            #expect(try await service.get("/v2/models/mlp/ready").status == 503)
            let ready = try await service.post("/v2/repository/index", json: #"{"ready":true}"#)
            #expect(ready.text == "[]")
            #expect(try await service.post("/v1/models/mlp/features", json: Self.mlpInput).status == 200)
            #expect(try await service.get("/v2/models/mlp/ready").status == 200)
            #expect(try await service.post("/v2/repository/models/mlp/unload", json: "").status == 200)
            #expect(try await service.post("/v2/repository/models/mlp/load", json: #"{"parameters":{}}"#).status == 200)
            #expect(try await service.get("/v2/models/mlp/ready").status == 200)
            let metrics = try await service.get("/metrics").text
            #expect(metrics.contains("\nperiscope_models_loaded 1\n"))
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
    }
}
