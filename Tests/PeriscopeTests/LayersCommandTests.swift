import Foundation
import Models
import NN
import Testing

/// `periscope layers MODEL` on a model registered with `periscope models add`, from the same registry.
@Suite struct LayersCommandTests {
    @Test func listsARegisteredModelsLayers() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = #"{"in_channels": 8, "hidden_channels": [16, 4], "norm": "layer_norm", "activation": "gelu"}"#
        let configurationFile = directory.appendingPathComponent("mlp.json")
        try Data(configuration.utf8).write(to: configurationFile)
        let weights = directory.appendingPathComponent("mlp.safetensors")
        let model = try LoadedModel.load(architecture: "mlp", configuration: Data(configuration.utf8), seed: 1)
        try SafetensorsWriter.write(model.weights.entries.map { ($0.key, $0.tensor) }, to: weights)
        let data = ["--data-dir", directory.appendingPathComponent("data").path]
        let added = try PeriscopeProcess.run(["models", "add", "tiny", "--architecture", "mlp", "--weights", weights.path,
                                              "--config", configurationFile.path] + data)
        #expect(added.status == 0, "\(added.standardError)")

        let table = try PeriscopeProcess.run(["layers", "tiny"] + data)
        #expect(table.status == 0, "\(table.standardError)")
        let lines = table.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAME") == true)
        #expect(lines.contains { $0.hasPrefix("0") && $0.contains("Linear") && $0.contains("[1, 16]") && $0.hasSuffix("144") })
        #expect(lines.last?.contains("layers") == true)

        let json = try PeriscopeProcess.run(["layers", "tiny", "--json"] + data)
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        let layers = object?["layers"] as? [[String: Any]]
        #expect(layers?.first?["name"] as? String == "0")
        #expect(layers?.first?["output_shape"] as? [Int] == [1, 16])
        #expect(layers?.first?["calls"] as? Int == 1)

        let missing = try PeriscopeProcess.run(["layers", "nothere"] + data)
        #expect(missing.status == 1 && missing.standardError.contains("nothere"))
    }
}
