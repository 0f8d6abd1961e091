import CommandLineSupport
import Foundation
import Models
import NN
import Tensors

/// The file a command writes its named tensors to, by extension: a safetensors file (metadata:
/// the model name and the command's extra fields), or JSON
/// `{"model": {"name", "architecture"}, "<section>": {name: {"shape", "dtype", "data"}}}` with
/// floats in shortest round-trip form (non-finite values are an error: use safetensors).
/// Shared by `extract` (section `features`) and `attribute` (section `attributions`).
struct TensorOutput {
    enum Format {
        case safetensors
        case json
    }

    let path: String
    let format: Format

    /// Checks the file name's extension (`.safetensors` or `.json`).
    init(path: String) throws {
        if path.hasSuffix(".safetensors") {
            format = .safetensors
        } else if path.hasSuffix(".json") {
            format = .json
        } else {
            throw CommandLineError.invalidValue(option: "output", value: path, expected: "a .safetensors or .json file name")
        }
        self.path = path
    }

    /// Writes `tensors` in order.
    func write(_ tensors: CapturedFeatures, model: LoadedModel, section: String, metadata: [String: String] = [:]) throws {
        let url = URL(fileURLWithPath: path)
        switch format {
        case .safetensors:
            try SafetensorsWriter.write(tensors.entries.map { ($0.name, $0.tensor) }, to: url,
                                        metadata: metadata.merging(["model": model.name]) { _, name in name })
        case .json:
            try TensorOutput.json(tensors, model: model, section: section).write(to: url, options: .atomic)
        }
    }

    /// The tensors as JSON; floats in shortest round-trip form, non-finite values an error.
    static func json(_ tensors: CapturedFeatures, model: LoadedModel, section: String) throws -> Data {
        var text = "{\"model\":{\"name\":" + SafetensorsWriter.jsonString(model.name) + ",\"architecture\":" + SafetensorsWriter.jsonString(model.architecture.family) + "},"
            + SafetensorsWriter.jsonString(section) + ":{"
        for (index, entry) in tensors.entries.enumerated() {
            if index > 0 { text += "," }
            let tensor = entry.tensor.to(.float32)
            text += SafetensorsWriter.jsonString(entry.name) + ":{\"shape\":[" + tensor.shape.map(String.init).joined(separator: ",") + "],\"dtype\":\"float32\",\"data\":["
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
}
