import Configuration
import Foundation
import Models
import Registry
import Service
import Tensors

/// Where a command's model comes from: `MODEL` (a registered model, `--version V` optional),
/// `--architecture A [--weights W.safetensors] [--config C.json]`, `--onnx MODEL.onnx [--config C.json]`
/// (an ONNX graph; the same as `--architecture onnx --weights MODEL.onnx`), or `--hf-dir DIR` (a
/// Hugging Face BERT directory). Shared by `extract` and `bench model`.
package enum ModelSource {
    case registered(name: String, version: Int?, configuration: PeriscopeConfiguration)
    case architecture(name: String, weights: String?, configuration: String?)
    case huggingFaceDirectory(String)

    /// The usage fragment.
    package static let usage = "(MODEL [--version V] | --architecture A [--weights W.safetensors] [--config C.json] | --onnx M.onnx [--config C.json] | --hf-dir DIR)"

    /// Reads the model options. Call it after every other option is consumed (MODEL is the
    /// remaining positional word), before `finish()`.
    package static func parse(_ arguments: inout CommandLineArguments, requiresWeights: Bool) throws -> ModelSource {
        var architecture = try arguments.option("architecture")
        var weights = try arguments.option("weights")
        if let onnx = try arguments.option("onnx") {
            guard architecture == nil, weights == nil else {
                throw CommandLineError.unexpected(["--architecture/--weights (--onnx names the model file)"])
            }
            architecture = "onnx"
            weights = onnx
        }
        let configuration = try arguments.option("config")
        let directory = try arguments.option("hf-dir")
        let version = try arguments.integerOption("version")
        let service = try arguments.configuration(fileFlag: "config-file")
        let name = arguments.positional()
        let forms = [name != nil, architecture != nil, directory != nil].filter { $0 }.count
        guard forms == 1 else {
            throw CommandLineError.missingArgument("exactly one model: " + usage)
        }
        if let name {
            guard weights == nil, configuration == nil else {
                throw CommandLineError.unexpected(["--weights/--config (a registered model has its own)"])
            }
            return .registered(name: name, version: version, configuration: service)
        }
        if let directory {
            guard weights == nil, configuration == nil else {
                throw CommandLineError.unexpected(["--weights/--config (the directory holds config.json and model.safetensors)"])
            }
            return .huggingFaceDirectory(directory)
        }
        if requiresWeights && weights == nil { throw CommandLineError.missingArgument("--weights W.safetensors") }
        return .architecture(name: architecture!, weights: weights, configuration: configuration)
    }

    /// `--precision float32|bfloat16|int8`: how the loaded model computes (nil: a registered model's
    /// own precision, else float32).
    package static func parsePrecision(_ arguments: inout CommandLineArguments) throws -> ComputePrecision? {
        try arguments.option("precision").map { text in
            guard let precision = ComputePrecision(rawValue: text) else {
                throw CommandLineError.invalidValue(option: "precision", value: text,
                                                    expected: ComputePrecision.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return precision
        }
    }

    /// Loads the model (seeded weights when an architecture comes without weights) in `precision`
    /// (nil: a registered model's own, else float32).
    package func load(seed: UInt64 = 0, precision: ComputePrecision? = nil) throws -> LoadedModel {
        var (model, registered) = try loadFloat32(seed: seed)
        // ModelPrecision (what the registry stores) and ComputePrecision name the same three cases.
        let chosen = precision ?? registered.flatMap { ComputePrecision(rawValue: $0.rawValue) } ?? .float32
        if chosen != .float32 { try model.setPrecision(chosen) }
        return model
    }

    /// The model in float32, and the precision its registration asks for (nil when not registered).
    private func loadFloat32(seed: UInt64) throws -> (LoadedModel, ModelPrecision?) {
        switch self {
        case let .registered(name, version, configuration):
            let verified = try Self.verify(name: name, version: version, configuration: configuration)
            return (try Self.loadVerified(verified), verified.version.precision)
        case let .architecture(name, weights, configuration):
            var data: Data?
            if let configuration {
                guard let contents = FileManager.default.contents(atPath: configuration) else {
                    throw CommandLineError.invalidValue(option: "config", value: configuration, expected: "a readable JSON file")
                }
                data = contents
            }
            return (try LoadedModel.load(architecture: name, configuration: data, weights: weights.map { URL(fileURLWithPath: $0) }, seed: seed), nil)
        case let .huggingFaceDirectory(path):
            return (try LoadedModel.load(huggingFaceDirectory: URL(fileURLWithPath: path, isDirectory: true)), nil)
        }
    }

    /// Loads the model and says which one it is (`ModelIdentity`: the registered checksum, or the
    /// SHA-256 of the files it was read from), for records that must tell models apart.
    /// …and its feature-cache digest (`FeatureCacheKeys`): a registered version's is the server's
    /// own, so the command and the server share entries; a model from files is digested from the
    /// files' checksums; a seeded model (no weights file) has none and is not cached.
    package func loadIdentified() throws -> (model: LoadedModel, identity: ModelIdentity, cacheDigest: String?) {
        switch self {
        case let .registered(name, version, configuration):
            let verified = try Self.verify(name: name, version: version, configuration: configuration)
            let identity = ModelIdentity(name: verified.version.name, version: verified.version.version, architecture: verified.version.architecture,
                                         weightsSHA256: verified.version.sha256, configurationSHA256: nil)
            // The registered precision, as `load` applies it (the identity's checksum covers the weights).
            var model = try Self.loadVerified(verified)
            if let precision = ComputePrecision(rawValue: verified.version.precision.rawValue), precision != .float32 {
                try model.setPrecision(precision)
            }
            return (model, identity, FeatureCacheKeys.modelDigest(of: verified.version))
        case let .architecture(_, weights, configuration):
            let model = try load()
            let identity = ModelIdentity(name: model.name, version: nil, architecture: model.name,
                                         weightsSHA256: try weights.map { try ModelIdentity.sha256(ofFileAt: $0, option: "weights") } ?? "none (seeded)",
                                         configurationSHA256: try configuration.map { try ModelIdentity.sha256(ofFileAt: $0, option: "config") })
            let digest = weights == nil ? nil : FeatureCacheKeys.modelDigest(
                architecture: identity.architecture, configuration: identity.configurationSHA256 ?? "", weightsSHA256: identity.weightsSHA256,
                precision: ComputePrecision.float32.rawValue)
            return (model, identity, digest)
        case let .huggingFaceDirectory(path):
            let model = try load()
            let directory = URL(fileURLWithPath: path, isDirectory: true)
            let identity = ModelIdentity(
                name: directory.standardizedFileURL.lastPathComponent, version: nil, architecture: model.name,
                weightsSHA256: try ModelIdentity.sha256(ofFileAt: directory.appendingPathComponent("model.safetensors").path, option: "hf-dir"),
                configurationSHA256: try ModelIdentity.sha256(ofFileAt: directory.appendingPathComponent("config.json").path, option: "hf-dir"))
            let digest = FeatureCacheKeys.modelDigest(architecture: identity.architecture, configuration: identity.configurationSHA256 ?? "",
                                                      weightsSHA256: identity.weightsSHA256, precision: ComputePrecision.float32.rawValue)
            return (model, identity, digest)
        }
    }

    /// A registered version whose weights passed the registry's size and SHA-256 checks.
    private static func verify(name: String, version: Int?, configuration: PeriscopeConfiguration) throws -> VerifiedWeights {
        let registry = try ModelRegistry(databasePath: configuration.databasePath, modelRoot: configuration.modelRoot)
        return try registry.verifyWeights(name: name, version: version)
    }

    /// Builds a registered version from its verified weights and its stored configuration, as the
    /// server does (a BERT's tokenizer from the `vocab.txt` next to its weights), in float32.
    private static func loadVerified(_ verified: VerifiedWeights) throws -> LoadedModel {
        try ModelManager.buildFloat32(verified)
    }
}
