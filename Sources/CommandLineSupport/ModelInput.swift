import Foundation
import Models
import NN
import Tensors

/// Where a command's input tensors come from: `--input IN.safetensors` (tensors by input name:
/// `input` for vision models and MLPs; `input_ids`, `attention_mask`, `token_type_ids` for BERT),
/// `--text "…"` (repeatable; tokenized with the model directory's vocabulary, `--max-length N`),
/// or `--image FILE` (JPEG/PNG, preprocessed as the model expects). Shared by `extract` and
/// `attribute`.
package enum ModelInput {
    case file(String)
    case texts([String], maxLength: Int?)
    case image(String)

    /// The usage fragment.
    package static let usage = "(--input IN.safetensors | --text \"…\" [--text …] | --image FILE)"

    /// Reads the input options; exactly one form must be given.
    package static func parse(_ arguments: inout CommandLineArguments) throws -> ModelInput {
        let inputPath = try arguments.option("input")
        let texts = try arguments.options("text")
        let imagePath = try arguments.option("image")
        let maxLength = try arguments.integerOption("max-length")
        switch (inputPath, texts.isEmpty, imagePath) {
        case let (path?, true, nil): return .file(path)
        case (nil, false, nil): return .texts(texts, maxLength: maxLength)
        case let (nil, true, path?): return .image(path)
        default: throw CommandLineError.missingArgument("exactly one input: --input IN.safetensors, --text \"…\" or --image FILE")
        }
    }

    /// The named input tensors for `model`.
    package func load(for model: LoadedModel) throws -> [String: Tensor] {
        switch self {
        case .file(let path):
            var inputs: [String: Tensor] = [:]
            for (name, tensor) in try SafetensorsFile(contentsOf: URL(fileURLWithPath: path)).tensors() { inputs[name] = tensor }
            return inputs
        case let .texts(texts, maxLength):
            return try model.tokenize(texts, maxLength: maxLength)
        case .image(let path):
            guard let preprocessing = model.imagePreprocessing else {
                throw CommandLineError.invalidValue(option: "image", value: path, expected: "an image model")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandLineError.invalidValue(option: "image", value: path, expected: "a readable JPEG or PNG file")
            }
            return [model.architecture.imageInputName ?? "input": try preprocessing(imageData: data)]
        }
    }
}
