import CommandLineSupport
import Foundation
import Models
import NN
import Service

// `periscope layers …`: the layers of a model, as `GET /v1/models/{name}/layers` lists them.

/// `layers MODEL-SOURCE [--json]`: every layer a request may name, in call order, with its module
/// type, output shape for the model's default input, calls per forward pass and parameter count.
/// A registered model is read from the same registry as the server's (same configuration).
enum LayersCommand {
    static let usage = "layers " + ModelSource.usage + " [--json]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        let json = arguments.flag("json")
        let source = try ModelSource.parse(&arguments, requiresWeights: false)
        try arguments.finish()
        let model = try source.load()
        let catalog = try model.makeReplica().traceLayers(inputs: ServedModel.defaultInputs(for: model))
        if json {
            let layers: [[String: Any]] = catalog.layers.map { layer in
                ["name": layer.name, "type": layer.moduleType, "output_shape": layer.outputShape ?? [], "calls": layer.callCount ?? 1,
                 "parameters": layer.parameterCount]
            }
            let data = try JSONSerialization.data(withJSONObject: ["layers": layers], options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        var rows = [["NAME", "TYPE", "OUTPUT SHAPE", "CALLS", "PARAMETERS"]]
        for layer in catalog.layers {
            let shape = layer.outputShape.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "-"
            rows.append([layer.name, layer.moduleType, shape, String(layer.callCount ?? 1), String(layer.parameterCount)])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        print("\(catalog.layers.count) layers, \(catalog.totalParameterCount) parameters; output \(catalog.outputShape.map { "\($0)" } ?? "-")")
    }
}
