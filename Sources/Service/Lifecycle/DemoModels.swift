import Configuration
import Foundation
import Logging
import Models
import NN
import Registry

/// The embedded default: with no models of its own in the registry, the server registers (and
/// marks `preload`) a ResNet-18 with seeded initialization — its weights written as a safetensors
/// file under the model root, so the registry's invariants hold as for any model — and
/// all-MiniLM-L6-v2 when its files are in `demo.minilm_dir` (`.cache/minilm`, which
/// `scripts/fetch-minilm` fills in a checkout), copied under the model root.
///
/// Idempotent across restarts: demo models carry the label `demo=true`; as long as every
/// registered model is a demo model, missing demo models are (re-)registered and existing files
/// reused. A registry with any model of its own gets no demo models.
struct DemoModels {
    let configuration: PeriscopeConfiguration
    let registry: ModelRegistry
    let logger: Logger
    /// The architecture and configuration registered as `resnet18` (tests register a smaller one).
    var resnet: (architecture: String, configuration: String) = ("resnet18", "{}")

    static let resnetName = "resnet18"
    static let miniLMName = "all-minilm-l6-v2"
    static let label = "demo"
    /// The folder under the model root that holds the demo weights.
    static let folder = "demo"

    func registerIfNeeded() {
        do {
            let models = try registry.models()
            guard models.allSatisfy({ $0.labels[Self.label] == "true" }) else {
                logger.info("demo models skipped: the registry has models of its own")
                return
            }
            let names = Set(models.map(\.name))
            if !names.contains(Self.resnetName) { try registerResNet18() }
            if !names.contains(Self.miniLMName) { try registerMiniLMIfPresent() }
        } catch {
            logger.error("cannot register the demo models", ["error": .string(String(describing: error))])
        }
    }

    /// torchvision's ResNet-18 initialization drawn from `demo.resnet18_seed` (not trained: the
    /// features are those of a random network, which is what a demo of the plumbing needs).
    private func registerResNet18() throws {
        let seed = configuration.demo.resnet18Seed
        let relative = "\(Self.folder)/resnet18-seed\(seed).safetensors"
        let path = registry.modelRoot.absolutePath(relative)
        if !FileManager.default.fileExists(atPath: path) {
            let started = ContinuousClock.now
            let model = try LoadedModel.load(architecture: resnet.architecture, configuration: Data(resnet.configuration.utf8), seed: UInt64(seed))
            try FileManager.default.createDirectory(atPath: registry.modelRoot.absolutePath(Self.folder), withIntermediateDirectories: true)
            try SafetensorsWriter.write(model.weights.entries.map { ($0.key, $0.tensor) }, to: URL(fileURLWithPath: path),
                                        metadata: ["periscope": "demo resnet18, seeded initialization \(seed)"])
            logger.info("demo weights written", ["path": .string(relative), "seconds": .double(WorkerPool.seconds(from: started, to: .now))])
        }
        let version = try registry.register(ModelRegistration(
            name: Self.resnetName, architecture: resnet.architecture, configuration: resnet.configuration,
            description: "Demo: torchvision ResNet-18 with seeded random initialization (seed \(seed)); not trained.",
            labels: [Self.label: "true"], preload: true), weightsPath: relative)
        logger.info("demo model registered", ["model": .string(version.name), "version": .int(version.version)])
    }

    /// all-MiniLM-L6-v2 from `demo.minilm_dir`, when `config.json`, `model.safetensors` and
    /// `vocab.txt` are there; linked (else copied) into the model root with its tokenizer files.
    private func registerMiniLMIfPresent() throws {
        guard let source = configuration.demo.minilmDirectory else { return }
        let required = ["config.json", "model.safetensors", "vocab.txt"]
        let manager = FileManager.default
        guard required.allSatisfy({ manager.fileExists(atPath: source + "/" + $0) }) else {
            logger.info("MiniLM demo skipped: no all-MiniLM-L6-v2 files", ["directory": .string(source)])
            return
        }
        let relativeFolder = "\(Self.folder)/\(Self.miniLMName)"
        let folder = registry.modelRoot.absolutePath(relativeFolder)
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in required + ["tokenizer_config.json"] where manager.fileExists(atPath: source + "/" + file) {
            let target = folder + "/" + file
            if manager.fileExists(atPath: target) { continue }
            let partial = target + ".partial"
            try? manager.removeItem(atPath: partial)
            do {
                try manager.linkItem(atPath: source + "/" + file, toPath: partial)
            } catch {
                try manager.copyItem(atPath: source + "/" + file, toPath: partial)
            }
            try manager.moveItem(atPath: partial, toPath: target)
        }
        let configuration = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        let version = try registry.register(ModelRegistration(
            name: Self.miniLMName, architecture: "bert", configuration: configuration,
            description: "Demo: sentence-transformers all-MiniLM-L6-v2 (text in, token features out; pool mean + normalize for sentence embeddings).",
            labels: [Self.label: "true"], preload: true), weightsPath: relativeFolder + "/model.safetensors")
        logger.info("demo model registered", ["model": .string(version.name), "version": .int(version.version)])
    }
}
