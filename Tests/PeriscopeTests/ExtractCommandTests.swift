import Foundation
import NN
import Tensors
import Testing
import TestSupport

/// `periscope extract` as a process: the requested layers, and only those, with PyTorch's values.
@Suite struct ExtractCommandTests {
    @Test func architectureWeightsAndConfigurationToSafetensors() async throws {
        try await onDedicatedThread {
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
    }

    /// A Hugging Face CLIP directory: both towers from an input file, and an image given as a file
    /// (preprocessed into `pixel_values`).
    @Test func clipDirectoryTowersAndImage() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let output = directory.appendingPathComponent("features.safetensors")
            let towers = try PeriscopeProcess.run([
                "extract", "--hf-dir", Fixtures.url("clip_tiny").path, "--input", Fixtures.url("clip_tiny/input.safetensors").path,
                "--layers", "image_embeds,text_embeds,vision_model.post_layernorm", "--output", output.path,
            ])
            #expect(towers.status == 0, "\(towers.standardError)")
            let features = try SafetensorsFile(contentsOf: output)
            let expected = try SafetensorsFile(contentsOf: Fixtures.url("clip_tiny/expected.safetensors"))
            #expect(Set(features.names) == ["image_embeds", "text_embeds", "vision_model.post_layernorm"])
            for name in features.names {
                #expect(isClose(try features.tensor(named: name), try expected.tensor(named: name)), "\(name)")
            }
            let image = try PeriscopeProcess.run([
                "extract", "--hf-dir", Fixtures.url("clip_tiny").path, "--image", Fixtures.url("images/photo_64x48.png").path,
                "--layers", "image_embeds", "--output", output.path,
            ])
            #expect(image.status == 0, "\(image.standardError)")
            #expect(try SafetensorsFile(contentsOf: output).tensor(named: "image_embeds").shape == [1, 16])
        }
    }

    /// A model registered with `periscope models add` is extracted by name.
    @Test func registeredModelByName() async throws {
        try await onDedicatedThread {
            let directory = try PeriscopeProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let registry = ["--db", directory.appendingPathComponent("registry.sqlite").path,
                            "--model-root", directory.appendingPathComponent("models").path]
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("models"), withIntermediateDirectories: true)
            let added = try PeriscopeProcess.run(["models", "add", "tiny-vit", "--architecture", "vit",
                                                  "--config", Fixtures.url("vit_tiny/config.json").path,
                                                  "--weights", Fixtures.url("vit_tiny/model.safetensors").path] + registry)
            #expect(added.status == 0, "\(added.standardError)")
            let output = directory.appendingPathComponent("features.safetensors")
            let outcome = try PeriscopeProcess.run(["extract", "tiny-vit", "--input", Fixtures.url("vit_tiny/input.safetensors").path,
                                                    "--layers", "encoder.ln,output", "--output", output.path] + registry)
            #expect(outcome.status == 0, "\(outcome.standardError)")
            let features = try SafetensorsFile(contentsOf: output)
            #expect(Set(features.names) == ["encoder.ln", "output"])
            let expected = try SafetensorsFile(contentsOf: Fixtures.url("vit_tiny/expected.safetensors"))
            for name in features.names {
                #expect(isClose(try features.tensor(named: name), try expected.tensor(named: name)), "\(name)")
            }
            let unknown = try PeriscopeProcess.run(["extract", "no-such-model", "--input", "x.safetensors", "--layers", "fc",
                                                    "--output", "y.json"] + registry)
            #expect(unknown.status == 1)
            #expect(unknown.standardError.contains("no-such-model"))
        }
    }

    @Test func huggingFaceDirectoryAndTextToJSON() async throws {
        try await onDedicatedThread {
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
    }

    @Test func unknownLayersAndBadArgumentsFailWithOneLine() async throws {
        try await onDedicatedThread {
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
}
