import Foundation
import NN
import Tensors

/// Reads a sentence-transformers model directory (what `SentenceTransformer.save` writes) into an
/// `EmbeddingConfiguration`, so the model embeds as `SentenceTransformer(dir).encode` does:
///
/// - `modules.json`: the module list; `Transformer` (the BERT next to it), `Pooling`, `Dense`,
///   `Normalize` are understood, any other module type is an error naming it;
/// - `<pooling>/config.json`: `pooling_mode` `mean`, `cls` or `max` (sentence-transformers 5+), or
///   the flags `pooling_mode_mean_tokens`, `pooling_mode_cls_token`, `pooling_mode_max_tokens`
///   (exactly one; the other modes are refused by name);
/// - `<dense>/config.json` (`in_features`, `out_features`, `bias`, `activation_function`) and its
///   `model.safetensors` (`linear.weight`, `linear.bias`);
/// - `sentence_bert_config.json`: `max_seq_length` (sentence-transformers 5+ keeps it as the
///   tokenizer's `model_max_length`, which the tokenizer reads);
/// - `config_sentence_transformers.json`: `prompts`, `default_prompt_name`.
///
/// sentence-transformers truncates over-long texts at the end: the default truncation is `end`.
public enum SentenceTransformersDirectory {
    /// Whether `directory` holds a `modules.json`.
    public static func isPresent(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("modules.json").path)
    }

    /// The embedding configuration of the sentence-transformers directory `directory`, over `base`
    /// (the registration's; its Matryoshka dimensions and prompts are kept unless the directory
    /// declares its own).
    public static func load(_ directory: URL, over base: EmbeddingConfiguration = EmbeddingConfiguration()) throws -> EmbeddingConfiguration {
        var configuration = base
        configuration.source = "sentence-transformers"
        configuration.pooling = nil
        configuration.normalize = false
        configuration.dense = []
        configuration.truncation = .end
        let modules = try json(directory, "modules.json")
        guard let list = modules as? [[String: Any]] else { throw invalid(directory, "modules.json", "an array of module objects") }
        for module in list.sorted(by: { ($0["idx"] as? Int ?? 0) < ($1["idx"] as? Int ?? 0) }) {
            let type = module["type"] as? String ?? ""
            let path = module["path"] as? String ?? ""
            let folder = path.isEmpty ? directory : directory.appendingPathComponent(path)
            switch type.split(separator: ".").last.map(String.init) ?? "" {
            case "Transformer":
                guard path.isEmpty else {
                    throw ModelError.invalidConfiguration(field: "modules.json", expected: "the Transformer module at the directory itself (path \"\"), found \"\(path)\"")
                }
            case "Pooling":
                configuration.pooling = try pooling(folder)
            case "Dense":
                configuration.dense.append(try dense(folder))
            case "Normalize":
                configuration.normalize = true
            default:
                throw ModelError.invalidConfiguration(field: "modules.json", expected: "Transformer, Pooling, Dense and Normalize modules only, found \"\(type)\"")
            }
        }
        if let settings = try optionalJSON(directory, "sentence_bert_config.json") as? [String: Any],
           let length = settings["max_seq_length"] as? Int {
            // [CLS] and [SEP] count: sentence-transformers passes max_seq_length as the tokenizer's max_length.
            configuration.maxSequenceLength = length
        }
        if let settings = try optionalJSON(directory, "config_sentence_transformers.json") as? [String: Any] {
            if let prompts = settings["prompts"] {
                guard let table = prompts as? [String: String] else {
                    throw invalid(directory, "config_sentence_transformers.json", "prompts as an object of names to strings")
                }
                configuration.prompts = table.filter { !$0.value.isEmpty }.merging(configuration.prompts) { directory, _ in directory }
            }
            if let name = settings["default_prompt_name"] as? String, !name.isEmpty {
                guard configuration.prompts[name] != nil else {
                    throw invalid(directory, "config_sentence_transformers.json", "default_prompt_name naming one of its prompts (\"\(name)\" is not)")
                }
                configuration.defaultPromptName = name
            }
        }
        var width: Int?
        for layer in configuration.dense {
            if let width, width != layer.inputFeatures {
                throw ModelError.invalidConfiguration(field: "modules.json", expected: "Dense layers that chain (\(width) outputs feed \(layer.inputFeatures) inputs)")
            }
            width = layer.outputFeatures
        }
        return configuration
    }

    private static func pooling(_ folder: URL) throws -> SentencePooling {
        guard let settings = try json(folder, "config.json") as? [String: Any] else {
            throw invalid(folder, "config.json", "a JSON object")
        }
        if settings["include_prompt"] as? Bool == false {
            throw invalid(folder, "config.json", "include_prompt true (pooling without the prompt tokens is not supported)")
        }
        // sentence-transformers 5+: "pooling_mode": "mean" (or a list of modes); older: one flag per mode.
        if let mode = settings["pooling_mode"] {
            let modes = (mode as? [String]) ?? [(mode as? String) ?? ""]
            guard modes.count == 1, let pooling = ["mean": SentencePooling.mean, "cls": .cls, "max": .max][modes[0]] else {
                throw invalid(folder, "config.json", "pooling_mode mean, cls or max, found \(modes)")
            }
            return pooling
        }
        let supported: [(String, SentencePooling)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max)]
        for unsupported in ["pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"]
        where settings[unsupported] as? Bool == true {
            throw invalid(folder, "config.json", "mean, cls or max pooling (\(unsupported) is not supported)")
        }
        let chosen = supported.filter { settings[$0.0] as? Bool == true }
        guard chosen.count == 1 else {
            throw invalid(folder, "config.json", "exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens")
        }
        return chosen[0].1
    }

    private static func dense(_ folder: URL) throws -> EmbeddingConfiguration.DenseLayer {
        guard let settings = try json(folder, "config.json") as? [String: Any],
              let inputs = settings["in_features"] as? Int, let outputs = settings["out_features"] as? Int else {
            throw invalid(folder, "config.json", "in_features and out_features")
        }
        let name = (settings["activation_function"] as? String ?? "torch.nn.modules.linear.Identity").split(separator: ".").last.map(String.init) ?? ""
        let activations: [String: EmbeddingConfiguration.DenseLayer.Activation] = [
            "Identity": .identity, "Tanh": .tanh, "ReLU": .relu, "Sigmoid": .sigmoid, "GELU": .gelu,
        ]
        guard let activation = activations[name] else {
            throw invalid(folder, "config.json", "activation_function one of \(activations.keys.sorted().joined(separator: ", ")), found \(name)")
        }
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        let state: StateDict
        do {
            state = try SafetensorsFile(readingContentsOf: weightsURL).stateDict()
        } catch {
            throw ModelError.unreadableFile(path: weightsURL.path, reason: "the Dense weights must be a model.safetensors (\(error))")
        }
        guard let weight = state["linear.weight"], weight.shape == [outputs, inputs] else {
            throw ModelError.weightShapeMismatch(key: "linear.weight", expected: [outputs, inputs], found: state["linear.weight"]?.shape ?? [])
        }
        let bias = state["linear.bias"]
        if settings["bias"] as? Bool ?? true {
            guard let bias, bias.shape == [outputs] else {
                throw ModelError.weightShapeMismatch(key: "linear.bias", expected: [outputs], found: bias?.shape ?? [])
            }
        }
        return EmbeddingConfiguration.DenseLayer(weight: weight.to(.float32), bias: bias?.to(.float32), activation: activation)
    }

    private static func json(_ folder: URL, _ name: String) throws -> Any {
        guard let value = try optionalJSON(folder, name) else {
            throw ModelError.unreadableFile(path: folder.appendingPathComponent(name).path, reason: "missing from the sentence-transformers directory")
        }
        return value
    }

    private static func optionalJSON(_ folder: URL, _ name: String) throws -> Any? {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw ModelError.unreadableFile(path: url.path, reason: "not JSON (\(error.localizedDescription))")
        }
    }

    private static func invalid(_ folder: URL, _ name: String, _ expected: String) -> ModelError {
        .invalidConfiguration(field: folder.appendingPathComponent(name).lastPathComponent, expected: expected)
    }
}
