import Foundation
import NN
import Tensors
import Testing
import TestSupport

/// `periscope extract` as a process: the requested layers, and only those, with PyTorch's values.
@Suite struct ExtractCommandTests {
    @Test func architectureWeightsAndConfigurationToSafetensors() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("features.safetensors")
        let outcome = try PeriscopeProcess.run([
            "extract", "--architecture", "resnet", "--config", Fixtures.url("resnet_basic_1111/config.json").path,
            "--weights", Fixtures.url("resnet_basic_1111/model.safetensors").path,
            "--input", Fixtures.url("resnet_basic_1111/input.safetensors").path,
            "--layers", "layer1.0.bn1,layer2.0.relu_1,-1", "--output", output.path,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let features = try SafetensorsFile(contentsOf: output)
        #expect(Set(features.names) == ["layer1.0.bn1", "layer2.0.relu_1", "fc"])
        let expected = try SafetensorsFile(contentsOf: Fixtures.url("resnet_basic_1111/expected.safetensors"))
        for name in features.names {
            #expect(isClose(try features.tensor(named: name), try expected.tensor(named: name)), "\(name)")
        }
    }

    @Test func huggingFaceDirectoryAndTextToJSON() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("features.json")
        let outcome = try PeriscopeProcess.run([
            "extract", "--hf-dir", Fixtures.url("bert_tiny").path, "--text", "Hello, world!",
            "--text", "The café's naïve résumé costs $3.50 — really?", "--max-length", "32",
            "--layers", "last_hidden_state,pooler_output", "--output", output.path,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as! [String: Any]
        let features = json["features"] as! [String: [String: Any]]
        #expect(Set(features.keys) == ["last_hidden_state", "pooler_output"])
        let hidden = try #require(features["last_hidden_state"])
        #expect(hidden["shape"] as? [Int] == [2, 16, 32])
        #expect(hidden["dtype"] as? String == "float32")
        let values = (hidden["data"] as! [NSNumber]).map(\.floatValue)
        let expected = try SafetensorsFile(contentsOf: Fixtures.url("bert_tiny/expected.safetensors")).tensor(named: "last_hidden_state")
        #expect(isClose(Tensor(shape: [2, 16, 32], scalars: values), expected))
    }

    @Test func unknownLayersAndBadArgumentsFailWithOneLine() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let unknown = try PeriscopeProcess.run([
            "extract", "--architecture", "vit", "--config", Fixtures.url("vit_tiny/config.json").path,
            "--weights", Fixtures.url("vit_tiny/model.safetensors").path, "--input", Fixtures.url("vit_tiny/input.safetensors").path,
            "--layers", "encoder.layers.encoder_layer_2", "--output", directory.appendingPathComponent("x.safetensors").path,
        ])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.hasPrefix("periscope: unknown layer 'encoder.layers.encoder_layer_2'; closest valid names: "))
        #expect(unknown.standardError.split(separator: "\n").count == 1)
        let noWeights = try PeriscopeProcess.run(["extract", "--architecture", "resnet18", "--input", "x.safetensors", "--layers", "fc",
                                                  "--output", "y.json"])
        #expect(noWeights.status == 1)
        #expect(noWeights.standardError == "periscope: missing argument: --weights W.safetensors\n")
        let badOutput = try PeriscopeProcess.run(["extract", "--hf-dir", Fixtures.url("bert_tiny").path, "--text", "a", "--layers", "pooler",
                                                  "--output", "features.csv"])
        #expect(badOutput.standardError == "periscope: option --output: 'features.csv' is not a .safetensors or .json file name\n")
    }
}
