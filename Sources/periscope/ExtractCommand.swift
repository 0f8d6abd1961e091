import Foundation
import Models
import NN
import Tensors

// `periscope extract …`: one forward pass from the command line, writing the requested layers.

/// `extract MODEL-SOURCE (--input IN.safetensors | --text "…"… | --image FILE) --layers L1,L2
/// --output OUT.safetensors|OUT.json [--max-length N]`.
///
/// Inputs by name from a safetensors file (`input` for vision models and MLPs; `input_ids`,
/// `attention_mask`, `token_type_ids` for BERT), or texts tokenized with the model directory's
/// vocabulary, or an image (JPEG/PNG) preprocessed as the model expects. Layers are names, globs,
/// aliases or indices (negative from the end), comma-separated. Only the requested layers are
/// written: a safetensors file, or JSON `{"model": …, "features": {name: {"shape", "dtype", "data"}}}`.
enum ExtractCommand {
    static let usage = "extract " + ModelSource.usage
        + " (--input IN.safetensors | --text \"…\" [--text …] | --image FILE) --layers L1,L2 --output OUT.safetensors|OUT.json [--max-length N]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        let inputPath = try arguments.option("input")
        let texts = try arguments.options("text")
        let imagePath = try arguments.option("image")
        let maxLength = try arguments.integerOption("max-length")
        guard let layerList = try arguments.option("layers") else { throw CommandLineError.missingArgument("--layers L1,L2") }
        guard let outputPath = try arguments.option("output") else { throw CommandLineError.missingArgument("--output OUT.safetensors|OUT.json") }
        let source = try ModelSource.parse(&arguments, requiresWeights: true)
        try arguments.finish()
        let format = try OutputFormat(path: outputPath)
        guard [inputPath != nil, !texts.isEmpty, imagePath != nil].filter({ $0 }).count == 1 else {
            throw CommandLineError.missingArgument("exactly one input: --input IN.safetensors, --text \"…\" or --image FILE")
        }
        let layers = try parseLayers(layerList)

        let model = try source.load()
        var inputs: [String: Tensor]
        if let inputPath {
            inputs = [:]
            for (name, tensor) in try SafetensorsFile(contentsOf: URL(fileURLWithPath: inputPath)).tensors() { inputs[name] = tensor }
        } else if !texts.isEmpty {
            inputs = try model.tokenize(texts, maxLength: maxLength)
        } else {
            guard let preprocessing = model.imagePreprocessing else { throw CommandLineError.invalidValue(option: "image", value: imagePath!, expected: "an image model") }
            guard let data = FileManager.default.contents(atPath: imagePath!) else {
                throw CommandLineError.invalidValue(option: "image", value: imagePath!, expected: "a readable JPEG or PNG file")
            }
            inputs = ["input": try preprocessing(imageData: data)]
        }

        let replica = try model.makeReplica()
        let features = try replica.extractFeatures(layers: layers, inputs: inputs)
        let url = URL(fileURLWithPath: outputPath)
        switch format {
        case .safetensors:
            try SafetensorsWriter.write(features.entries.map { ($0.name, $0.tensor) }, to: url, metadata: ["model": model.name])
        case .json:
            try featuresJSON(features, model: model).write(to: url, options: .atomic)
        }
        let summary = features.entries.map { "\($0.name) \($0.tensor.shape)" }.joined(separator: ", ")
        print("wrote \(features.count) layers to \(outputPath): \(summary)")
    }

    enum OutputFormat {
        case safetensors
        case json

        init(path: String) throws {
            if path.hasSuffix(".safetensors") {
                self = .safetensors
            } else if path.hasSuffix(".json") {
                self = .json
            } else {
                throw CommandLineError.invalidValue(option: "output", value: path, expected: "a .safetensors or .json file name")
            }
        }
    }

    /// `layer3,layer4.*.relu,-1` → selectors (integers are indices).
    static func parseLayers(_ text: String) throws -> [LayerSelector] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else {
            throw CommandLineError.invalidValue(option: "layers", value: text, expected: "comma-separated layer names or indices")
        }
        return items.map { Int($0).map(LayerSelector.index) ?? .name($0) }
    }

    /// The features as JSON; floats in shortest round-trip form, non-finite values an error.
    static func featuresJSON(_ features: CapturedFeatures, model: LoadedModel) throws -> Data {
        var text = "{\"model\":{\"name\":" + quoted(model.name) + ",\"architecture\":" + quoted(model.architecture.family) + "},\"features\":{"
        for (index, entry) in features.entries.enumerated() {
            if index > 0 { text += "," }
            let tensor = entry.tensor.to(.float32)
            text += quoted(entry.name) + ":{\"shape\":[" + tensor.shape.map(String.init).joined(separator: ",") + "],\"dtype\":\"float32\",\"data\":["
            var first = true
            for value in tensor.toArray() {
                guard value.isFinite else {
                    throw CommandLineError.invalidValue(option: "output", value: entry.name, expected: "finite values for JSON output (use .safetensors)")
                }
                if !first { text += "," }
                first = false
                text += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
            }
            text += "]}"
        }
        return Data((text + "}}\n").utf8)
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
