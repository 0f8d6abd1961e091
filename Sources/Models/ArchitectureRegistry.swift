import Foundation
import NN
import ONNX

extension CodingUserInfoKey {
    /// The preset configuration an architecture's `Configuration` decoder starts from.
    static let architecturePreset = CodingUserInfoKey(rawValue: "periscope.architecturePreset")!
}

/// Architecture names and JSON configurations → `Architecture`.
///
/// Names: the families `resnet`, `vit`, `bert`, `mlp`, `convnext`, `dinov2`, `clip`, and torchvision's presets (`resnet18`,
/// `resnet34`, `resnet50`, `resnet101`, `resnet152`, `resnext50_32x4d`, `wide_resnet50_2`,
/// `vit_b_16`, `vit_b_32`, `vit_l_16`, `vit_l_32`, `vit_h_14`, `convnext_tiny`, `convnext_small`,
/// `convnext_base`, `convnext_large`), usable as architecture names.
/// A configuration is a JSON object of the architecture's arguments with torchvision's / Hugging
/// Face's names (`{"block": "basic", "layers": [2, 2, 2, 2], "num_classes": 10}`); a preset's
/// configuration only overrides the preset's values. The object may carry its own `architecture`
/// key (a family or preset name; it must agree with the requested name when both are given) and, for
/// image models, a `preprocessing` object (`ImagePreprocessing.Configuration`). Every problem is a
/// `ModelError` naming the field: `layers: expected an array of 4 positive integers`.
public enum ArchitectureRegistry {
    /// The family names.
    public static let families = ["resnet", "vit", "bert", "mlp", "convnext", "dinov2", "clip"]

    /// Every accepted architecture name: families, then presets.
    public static let names: [String] = families + ResNet.Configuration.presets.keys.sorted()
        + VisionTransformer.Configuration.presets.keys.sorted() + ConvNeXt.Configuration.presets.keys.sorted()

    /// The family of `name` (itself for a family, e.g. `resnet` for `resnet50`), or nil if unknown.
    public static func family(of name: String) -> String? {
        if families.contains(name) { return name }
        if ResNet.Configuration.presets[name] != nil { return "resnet" }
        if VisionTransformer.Configuration.presets[name] != nil { return "vit" }
        if ConvNeXt.Configuration.presets[name] != nil { return "convnext" }
        return nil
    }

    /// True when `name` (or, without one, the configuration's `architecture` key) is `onnx`: an
    /// imported graph, loaded from its file by `LoadedModel.load(onnx:configuration:)`.
    public static func isONNX(named name: String?, configuration data: Data?) throws -> Bool {
        if let name { return name == "onnx" }
        guard let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["architecture"] as? String == "onnx"
    }

    /// Checks a registration's architecture name and configuration without weights: for `onnx`
    /// the configuration's settings (the graph itself is checked when its file loads).
    public static func validate(named name: String?, configuration: Data?) throws {
        if try isONNX(named: name, configuration: configuration) {
            _ = try onnxSettings(configuration: configuration)
        } else {
            _ = try architecture(named: name, configuration: configuration)
        }
    }

    /// The settings of an `onnx` configuration: its own and the image preprocessing.
    static func onnxSettings(configuration data: Data?) throws -> (configuration: ONNXArchitecture.Configuration,
                                                                    preprocessing: ImagePreprocessing.Configuration?) {
        var object: [String: Any] = [:]
        if let data, !data.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
            guard let parsed = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError.invalidConfiguration(field: "configuration", expected: "a JSON object")
            }
            object = parsed
        }
        if let declared = object.removeValue(forKey: "architecture"), declared as? String != "onnx" {
            throw ModelError.conflictingArchitecture(requested: "onnx", configuration: "\(declared)")
        }
        let preprocessing = try takePreprocessing(from: &object)
        let known = ["max_sequence_length", "image_size", "tokenizer"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelError.unknownConfigurationField(unknown, architecture: "onnx", known: known + ["architecture", "preprocessing"])
        }
        do {
            return (try JSONDecoder().decode(ONNXArchitecture.Configuration.self, from: JSONSerialization.data(withJSONObject: object)), preprocessing)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidConfiguration(field: "configuration", expected: "onnx settings (\(error))")
        }
    }

    /// The architecture for `name` (nil: the configuration's own `architecture` key decides) and an
    /// optional JSON configuration object.
    public static func architecture(named name: String?, configuration: Data?) throws -> Architecture {
        try resolve(named: name, configuration: configuration).architecture
    }

    /// Also returns the `preprocessing` object of the configuration, if any.
    static func resolve(named requested: String?, configuration data: Data?) throws
        -> (architecture: Architecture, name: String, preprocessing: ImagePreprocessing.Configuration?) {
        var object: [String: Any] = [:]
        if let data, !data.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
            guard let parsed = try? JSONSerialization.jsonObject(with: data), let dictionary = parsed as? [String: Any] else {
                throw ModelError.invalidConfiguration(field: "configuration", expected: "a JSON object")
            }
            object = dictionary
        }
        // The configuration's own architecture name, reconciled with the requested one.
        var declared: String?
        if let value = object.removeValue(forKey: "architecture"), !(value is NSNull) {
            guard let text = value as? String else {
                throw ModelError.invalidConfiguration(field: "architecture", expected: "an architecture name (a string)")
            }
            declared = text
        }
        for candidate in [requested, declared].compactMap({ $0 }) where family(of: candidate) == nil {
            throw ModelError.unknownArchitecture(candidate, known: names)
        }
        guard let name = try reconcile(requested: requested, declared: declared) else {
            throw ModelError.invalidConfiguration(field: "architecture", expected: "an architecture name (" + names.joined(separator: ", ") + ")")
        }
        // Serving settings (`EmbeddingConfiguration`), not an architecture argument.
        object.removeValue(forKey: "embedding")
        let preprocessing = try takePreprocessing(from: &object)
        let body = try JSONSerialization.data(withJSONObject: object)
        let architecture: Architecture
        switch family(of: name)! {
        case "resnet":
            architecture = .resnet(try decode(ResNet.Configuration.self, body, preset: ResNet.Configuration.presets[name]))
        case "vit":
            architecture = .visionTransformer(try decode(VisionTransformer.Configuration.self, body,
                                                         preset: VisionTransformer.Configuration.presets[name]))
        case "convnext":
            architecture = .convNeXt(try decode(ConvNeXt.Configuration.self, body, preset: ConvNeXt.Configuration.presets[name]))
        case "bert":
            architecture = .bert(try decode(BertModel.Configuration.self, body, preset: nil))
        case "dinov2":
            architecture = .dinov2(try decode(Dinov2Model.Configuration.self, body, preset: nil))
        case "clip":
            architecture = .clip(try decode(CLIPModel.Configuration.self, body, preset: nil))
        default:
            architecture = .mlp(try decode(MLP.Configuration.self, body, preset: nil))
        }
        if preprocessing != nil && !architecture.isVision {
            throw ModelError.invalidConfiguration(field: "preprocessing", expected: "no image preprocessing for \(name) (not an image model)")
        }
        return (architecture, name, preprocessing)
    }

    /// Removes and checks the configuration's `preprocessing` object (`ImagePreprocessing.Configuration`), if any.
    private static func takePreprocessing(from object: inout [String: Any]) throws -> ImagePreprocessing.Configuration? {
        guard let value = object.removeValue(forKey: "preprocessing") else { return nil }
        do {
            let configuration = try JSONDecoder().decode(ImagePreprocessing.Configuration.self, from: JSONSerialization.data(withJSONObject: value))
            try configuration.validate()
            return configuration
        } catch {
            throw ModelError.invalidConfiguration(field: "preprocessing", expected: "image preprocessing settings (\(error))")
        }
    }

    /// The more specific of two names of the same family (a preset over its family); an error when
    /// they name different architectures.
    private static func reconcile(requested: String?, declared: String?) throws -> String? {
        guard let requested, let declared else { return requested ?? declared }
        if requested == declared { return requested }
        guard family(of: requested) == family(of: declared) else {
            throw ModelError.conflictingArchitecture(requested: requested, configuration: declared)
        }
        if families.contains(declared) { return requested }
        if families.contains(requested) { return declared }
        throw ModelError.conflictingArchitecture(requested: requested, configuration: declared)
    }

    private static func decode<Configuration: Decodable & Sendable>(_ type: Configuration.Type, _ data: Data,
                                                                   preset: Configuration?) throws -> Configuration {
        let decoder = JSONDecoder()
        if let preset { decoder.userInfo[.architecturePreset] = preset }
        do {
            return try decoder.decode(type, from: data)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidConfiguration(field: "configuration", expected: "a JSON object (\(error))")
        }
    }
}
