import Foundation
import Registry

/// Which model, exactly, produced a set of features: recorded in a dataset extraction's manifest
/// and compared when the extraction resumes, so that a changed model refuses to continue.
///
/// `weightsSHA256` is the registered checksum (a registered model, verified when it loads) or the
/// SHA-256 of the weights file (`--weights`, `--onnx`, `model.safetensors` of `--hf-dir`);
/// `configurationSHA256` that of a `--config` file, when one is given.
public struct ModelIdentity: Codable, Equatable, Sendable {
    /// The registered name, the architecture name, or the Hugging Face directory's name.
    public var name: String
    /// The registered version; nil for a model given by files.
    public var version: Int?
    /// The architecture it was loaded as (`resnet18`, `bert`, `onnx`, …).
    public var architecture: String
    public var weightsSHA256: String
    public var configurationSHA256: String?

    public init(name: String, version: Int?, architecture: String, weightsSHA256: String, configurationSHA256: String?) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.weightsSHA256 = weightsSHA256
        self.configurationSHA256 = configurationSHA256
    }

    enum CodingKeys: String, CodingKey {
        case name, version, architecture
        case weightsSHA256 = "weights_sha256"
        case configurationSHA256 = "configuration_sha256"
    }

    /// What differs from `recorded`, as `model <field> (was …, now …)`.
    func changes(since recorded: ModelIdentity) -> [String] {
        var list = ChangeList()
        list.compare("model name", was: recorded.name, now: name)
        list.compare("model version", was: recorded.version, now: version)
        list.compare("model architecture", was: recorded.architecture, now: architecture)
        list.compare("model weights_sha256", was: recorded.weightsSHA256, now: weightsSHA256)
        list.compare("model configuration_sha256", was: recorded.configurationSHA256, now: configurationSHA256)
        return list.changes
    }

    /// The SHA-256 of a file the model is read from; errors name the option it came from.
    public static func sha256(ofFileAt path: String, option: String) throws -> String {
        do {
            return try DurableFile.digest(ofFileAt: path).sha256
        } catch {
            throw CommandLineError.invalidValue(option: option, value: path, expected: "a readable file (\(error))")
        }
    }
}
