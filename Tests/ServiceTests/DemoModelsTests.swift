import Configuration
import Foundation
import HTTP
import Registry
import Testing
import TestSupport
@testable import Service

/// The embedded default: demo models registered on an empty registry, once.
@Suite struct DemoModelsTests {
    /// A configuration in a fresh directory; `minilm` is the folder to find all-MiniLM-L6-v2 in.
    static func setUp(minilm: String?) throws -> (PeriscopeConfiguration, ModelRegistry, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-demo-\(UUID().uuidString)")
        var flags = ["data_dir": directory.path]
        flags["demo.minilm_dir"] = minilm ?? "null"
        let configuration = try PeriscopeConfiguration.load(environment: ["HOME": directory.path], flags: flags)
        let registry = try ModelRegistry(databasePath: configuration.databasePath, modelRoot: configuration.modelRoot)
        return (configuration, registry, directory)
    }

    /// The ResNet stand-in: the service tests' small one (a real ResNet-18 takes a minute to hash in a debug build).
    static func demo(_ configuration: PeriscopeConfiguration, _ registry: ModelRegistry) -> DemoModels {
        var demo = DemoModels(configuration: configuration, registry: registry, logger: .disabled)
        demo.resnet = ("resnet", LiveService.resnetConfiguration)
        return demo
    }

    @Test func registersOnceAddsMiniLMWhenItAppearsAndReusesItsFiles() throws {
        let absent = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)").path
        let (withoutMiniLM, registry, directory) = try Self.setUp(minilm: absent)
        defer { try? FileManager.default.removeItem(at: directory) }
        Self.demo(withoutMiniLM, registry).registerIfNeeded()
        #expect(try registry.models().map(\.name) == [DemoModels.resnetName])
        let resnet = try registry.version(name: DemoModels.resnetName)
        #expect(resnet.weightsPath == "demo/resnet18-seed0.safetensors" && !resnet.ownsWeightsFile)
        let written = try FileManager.default.attributesOfItem(atPath: registry.modelRoot.absolutePath(resnet.weightsPath))[.modificationDate] as? Date

        // A restart with all-MiniLM-L6-v2's files present (the BERT fixture directory stands in: same
        // layout, config + weights + vocabulary): MiniLM is added, the ResNet kept as it was.
        var configuration = withoutMiniLM
        configuration.demo.minilmDirectory = Fixtures.url("bert_tiny").path
        Self.demo(configuration, registry).registerIfNeeded()
        let models = try registry.models()
        #expect(models.map(\.name) == [DemoModels.miniLMName, DemoModels.resnetName])
        #expect(models.allSatisfy { $0.preload && $0.labels == ["demo": "true"] && $0.versions.count == 1 })
        #expect(try registry.version(name: DemoModels.miniLMName).weightsPath == "demo/all-minilm-l6-v2/model.safetensors")
        #expect(FileManager.default.fileExists(atPath: registry.modelRoot.absolutePath("demo/all-minilm-l6-v2/vocab.txt")))

        // Another restart: nothing new, the same file.
        Self.demo(configuration, registry).registerIfNeeded()
        #expect(try registry.models().map { $0.versions.count } == [1, 1])
        #expect(try FileManager.default.attributesOfItem(atPath: registry.modelRoot.absolutePath(resnet.weightsPath))[.modificationDate] as? Date == written)
        // The verified weights load as the server will load them, with the tokenizer for text.
        #expect(try ModelManager.build(try registry.verifyWeights(name: DemoModels.miniLMName)).tokenizer != nil)
    }

    @Test func aRegistryWithItsOwnModelsGetsNone() throws {
        let (configuration, registry, directory) = try Self.setUp(minilm: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        try LiveService.install(.mlp("mine"), in: registry)
        Self.demo(configuration, registry).registerIfNeeded()
        #expect(try registry.models().map(\.name) == ["mine"])
    }
}
