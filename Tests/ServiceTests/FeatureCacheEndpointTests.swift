import Foundation
import Models
import NN
import Registry
import Tensors
import Testing
import TestSupport
@testable import Service

/// The feature cache behind `POST /v1/models/{name}/features`, over a real socket.
@Suite struct FeatureCacheEndpointTests {
    /// One value of each `periscope_cache_*` family (summed over labels other than `model`).
    static func cacheMetrics(_ service: LiveService, model: String) async throws -> (hits: Double, misses: Double, evictions: Double, bytes: Double, computes: Double) {
        let text = try await service.get("/metrics").text
        let samples = try ExpositionParser.parse(text).samples
        func value(_ name: String, model: String? = nil) -> Double {
            samples.filter { $0.name == name && (model == nil || $0.labels["model"] == model) }.map(\.value).reduce(0, +)
        }
        return (value("periscope_cache_hits_total", model: model), value("periscope_cache_misses_total", model: model),
                value("periscope_cache_evictions_total"), value("periscope_cache_bytes"), value("periscope_compute_seconds_count", model: model))
    }

    @Test func aRepeatedPooledRequestIsAnsweredFromTheCacheWithoutAForwardPass() async throws {
        let service = try await LiveService.start([.resnet("net")])
        defer { Task { await service.stop() } }
        let body = FeatureRequests.tensorBody(randomTensor([2, 3, 16, 16], seed: 3), layers: ["layer3", "layer1"], extra: #","pool":"mean""#)
        let first = try await service.post("/v1/models/net/features", json: body)
        #expect(first.status == 200, "\(first.text)")
        #expect(first.headers["x-periscope-cache"] == "miss")
        let afterMiss = try await Self.cacheMetrics(service, model: "net")
        #expect(afterMiss.misses == 4)          // 2 rows × 2 layers
        #expect(afterMiss.hits == 0)
        #expect(afterMiss.bytes > 0)

        let second = try await service.post("/v1/models/net/features", json: body)
        #expect(second.status == 200, "\(second.text)")
        #expect(second.headers["x-periscope-cache"] == "hit")
        let afterHit = try await Self.cacheMetrics(service, model: "net")
        #expect(afterHit.hits == 4)
        #expect(afterHit.misses == 4)
        // No forward pass ran for the hit.
        #expect(afterHit.computes == afterMiss.computes)

        let computed = try FeatureRequests.features(first), cached = try FeatureRequests.features(second)
        #expect(Set(computed.keys) == ["layer3", "layer1"])
        for (name, value) in computed {
            #expect(cached[name]?.shape == value.shape, "\(name)")
            #expect(cached[name]?.values == value.values, "\(name)")
        }
        #expect(computed["layer3"]?.shape == [2, 256])

        // One row alone is cached too: its entries are per row.
        let one = FeatureRequests.tensorBody(randomTensor([2, 3, 16, 16], seed: 3).sliced(axis: 0, 1..<2), layers: ["layer1"], extra: #","pool":"mean""#)
        let single = try await service.post("/v1/models/net/features", json: one)
        #expect(single.headers["x-periscope-cache"] == "hit")
        #expect(try FeatureRequests.features(single)["layer1"]?.values == Array(computed["layer1"]!.values[64...]))

        // A safetensors answer from the cache holds the same bytes as a computed one.
        let binary = try await service.post("/v1/models/net/features", json: body, headers: ["Accept": "application/octet-stream"])
        let binaryComputed = try await service.post("/v1/models/net/features", json: body,
                                                   headers: ["Accept": "application/octet-stream", "Cache-Control": "no-cache"])
        #expect(binary.headers["x-periscope-cache"] == "hit")
        #expect(binaryComputed.headers["x-periscope-cache"] == "bypass")
        let fromCache = try SafetensorsFile(bytes: binary.body), fromModel = try SafetensorsFile(bytes: binaryComputed.body)
        for name in ["layer3", "layer1"] {
            #expect(try fromCache.tensor(named: name).toArray() == fromModel.tensor(named: name).toArray(), "\(name)")
        }
    }

    @Test func noCacheBypassesTheReadButStillWritesAndUnpooledRequestsAreNotCached() async throws {
        let service = try await LiveService.start([.resnet("net")])
        defer { Task { await service.stop() } }
        let body = FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 11), layers: ["layer2"], extra: #","pool":"max""#)
        let bypass = try await service.post("/v1/models/net/features", json: body, headers: ["Cache-Control": "no-cache"])
        #expect(bypass.status == 200, "\(bypass.text)")
        #expect(bypass.headers["x-periscope-cache"] == "bypass")
        let metrics = try await Self.cacheMetrics(service, model: "net")
        #expect(metrics.hits + metrics.misses == 0)   // not read
        #expect(metrics.bytes > 0)                    // but written
        let again = try await service.post("/v1/models/net/features", json: body, headers: ["Cache-Control": "max-age=0, No-Cache"])
        #expect(again.headers["x-periscope-cache"] == "bypass")
        let read = try await service.post("/v1/models/net/features", json: body)
        #expect(read.headers["x-periscope-cache"] == "hit")

        // Other post-processing is another entry.
        let normalized = FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 11), layers: ["layer2"], extra: #","pool":"max","normalize":true"#)
        #expect(try await service.post("/v1/models/net/features", json: normalized).headers["x-periscope-cache"] == "miss")

        // Full-resolution activations bypass the cache entirely.
        let unpooled = FeatureRequests.tensorBody(randomTensor([1, 3, 16, 16], seed: 11), layers: ["layer2"])
        let before = try await Self.cacheMetrics(service, model: "net")
        for _ in 0..<2 {
            let reply = try await service.post("/v1/models/net/features", json: unpooled)
            #expect(reply.status == 200)
            #expect(reply.headers["x-periscope-cache"] == "bypass")
        }
        let after = try await Self.cacheMetrics(service, model: "net")
        #expect(after.bytes == before.bytes)
        #expect(after.hits == before.hits && after.misses == before.misses)
    }

    @Test func aVersionWithOtherWeightsNeverReadsTheEntriesOfTheOneItReplaced() async throws {
        let service = try await LiveService.start([.mlp("swap")])
        defer { Task { await service.stop() } }
        let body = FeatureRequests.tensorBody(randomTensor([3, 8], seed: 5), layers: ["2", "output"], extra: #","pool":"mean""#)
        let original = try await service.post("/v1/models/swap/features", json: body)
        #expect(original.headers["x-periscope-cache"] == "miss")
        #expect(try await service.post("/v1/models/swap/features", json: body).headers["x-periscope-cache"] == "hit")

        // The same name, registered again with other weights (the old version removed).
        let registry = service.application.registry
        let model = try LoadedModel.load(architecture: "mlp", configuration: Data(LiveService.mlpConfiguration.utf8), seed: 8)
        try SafetensorsWriter.write(model.weights.entries.map { ($0.key, $0.tensor) },
                                    to: URL(fileURLWithPath: registry.modelRoot.absolutePath("swap/other.safetensors")))
        try await service.application.manager.removeModel(name: "swap")
        let version = try registry.register(ModelRegistration(name: "swap", architecture: "mlp", configuration: LiveService.mlpConfiguration),
                                            weightsPath: "swap/other.safetensors")
        _ = try await service.application.manager.load(name: "swap", version: version.version)
        let replaced = try await service.post("/v1/models/swap/features", json: body)
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(replaced.headers["x-periscope-cache"] == "miss")
        let old = try FeatureRequests.features(original), new = try FeatureRequests.features(replaced)
        #expect(old["output"]?.shape == new["output"]?.shape)
        #expect(old["output"]?.values != new["output"]?.values)
        // And the new values are what the new weights compute.
        let direct = try model.makeReplica().extractFeatures(layers: [.name("output")], inputs: ["input": randomTensor([3, 8], seed: 5)])
        #expect(new["output"]?.values == direct["output"]!.toArray())
    }

    @Test func aCacheThatCannotBeWrittenDegradesToComputing() async throws {
        // The cache path is a directory: the file cannot be opened, so the service runs without it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-cache-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("cache.sqlite3"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try await LiveService.start([.mlp("m")], settings: ["cache.path": directory.appendingPathComponent("cache.sqlite3").path])
        defer { Task { await service.stop() } }
        #expect(service.application.context.cache == nil)
        let body = FeatureRequests.tensorBody(randomTensor([1, 8], seed: 1), layers: ["output"], extra: #","pool":"mean""#)
        let reply = try await service.post("/v1/models/m/features", json: body)
        #expect(reply.status == 200)
        #expect(reply.headers["x-periscope-cache"] == nil)
    }
}
