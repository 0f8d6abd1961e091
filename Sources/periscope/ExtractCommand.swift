import CommandLineSupport
import Foundation
import Models
import NN
import Tensors

// `periscope extract …`: one forward pass from the command line, writing the requested layers;
// or, with `--dataset`, the layers of every item of a dataset as shards (ExtractCommand+Dataset).

/// `extract MODEL-SOURCE (--input IN.safetensors | --text "…"… | --image FILE) --layers L1,L2
/// --output OUT.safetensors|OUT.json [--max-length N]`.
///
/// Inputs as `ModelInput` reads them. Layers are names, globs, aliases or indices (negative from
/// the end), comma-separated. Only the requested layers are written (`TensorOutput`): a
/// safetensors file, or JSON `{"model": …, "features": {name: {"shape", "dtype", "data"}}}`.
enum ExtractCommand {
    static let usage = "extract " + ModelSource.usage + " " + ModelInput.usage
        + " --layers L1,L2 --output OUT.safetensors|OUT.json [--max-length N] [--precision P]\n  " + datasetUsage

    static func run(_ arguments: inout CommandLineArguments) throws {
        if let dataset = try arguments.option("dataset") { return try runDataset(dataset, &arguments) }
        let input = try ModelInput.parse(&arguments)
        guard let layerList = try arguments.option("layers") else { throw CommandLineError.missingArgument("--layers L1,L2") }
        guard let outputPath = try arguments.option("output") else { throw CommandLineError.missingArgument("--output OUT.safetensors|OUT.json") }
        let precision = try ModelSource.parsePrecision(&arguments)
        let source = try ModelSource.parse(&arguments, requiresWeights: true)
        try arguments.finish()
        let output = try TensorOutput(path: outputPath)
        let layers = try parseLayers(layerList)

        let model = try source.load(precision: precision)
        let inputs = try input.load(for: model)
        let replica = try model.makeReplica()
        let features = try replica.extractFeatures(layers: layers, inputs: inputs)
        try output.write(features, model: model, section: "features")
        let summary = features.entries.map { "\($0.name) \($0.tensor.shape)" }.joined(separator: ", ")
        print("wrote \(features.count) layers to \(outputPath): \(summary)")
    }

    /// `layer3,layer4.*.relu,-1` → selectors (integers are indices).
    static func parseLayers(_ text: String) throws -> [LayerSelector] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else {
            throw CommandLineError.invalidValue(option: "layers", value: text, expected: "comma-separated layer names or indices")
        }
        return items.map { Int($0).map(LayerSelector.index) ?? .name($0) }
    }
}
