import Foundation
import NN
import Tensors
import Testing
import TestSupport

/// `periscope attribute` as a process: the maps named as requested, with PyTorch autograd's values
/// (Tests/Fixtures/gradients), and one-line errors.
@Suite struct AttributeCommandTests {
    private static func reference(_ name: String) throws -> Tensor {
        try SafetensorsFile(contentsOf: Fixtures.url("gradients/gradients.safetensors")).tensor(named: name)
    }

    private static let resnet = [
        "--architecture", "resnet", "--config", Fixtures.url("resnet_basic_1111/config.json").path,
        "--weights", Fixtures.url("resnet_basic_1111/model.safetensors").path,
        "--input", Fixtures.url("resnet_basic_1111/input.safetensors").path,
    ]

    /// `--text` per text of the BERT fixture's inputs.json, and its `--max-length`.
    private static func bertTexts() throws -> [String] {
        let texts = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("bert_tiny/inputs.json"))) as! [String: Any]
        var arguments = (texts["texts"] as! [String]).flatMap { ["--text", $0] }
        if let maxLength = texts["max_length"] as? Int { arguments += ["--max-length", "\(maxLength)"] }
        return arguments
    }

    /// Within 1e-4 of the reference's largest magnitude (gradients are far below 1).
    private func expectMatches(_ actual: Tensor, _ expected: Tensor, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let d = difference(actual, expected) else {
            Issue.record("\(name): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
            return
        }
        #expect(d.maxAbsoluteError <= 1e-4 * d.referenceMaxMagnitude, "\(name): \(d)", sourceLocation: sourceLocation)
    }

    @Test func resnetSaliencyAndGradCAMToSafetensors() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let saliencyURL = directory.appendingPathComponent("saliency.safetensors")
        let saliency = try PeriscopeProcess.run(["attribute"] + Self.resnet + [
            "--target-class", "7", "--layers", "layer3,layer4,layer1.0.relu_1", "--output", saliencyURL.path,
        ])
        #expect(saliency.status == 0, "\(saliency.standardError)")
        #expect(saliency.standardOutput.hasPrefix("wrote 4 maps to \(saliencyURL.path): input_grad [2, 3, 64, 64], grad:layer1.0.relu_1 [2, 64, 16, 16]"))
        let maps = try SafetensorsFile(contentsOf: saliencyURL)
        #expect(maps.names.sorted() == ["grad:layer1.0.relu_1", "grad:layer3", "grad:layer4", "input_grad"])
        #expect(maps.metadata["model"] == "resnet" && maps.metadata["method"] == "saliency")
        #expect(maps.metadata["target"] == #"{"class":7}"#)
        for name in maps.names { expectMatches(try maps.tensor(named: name), try Self.reference("resnet.class7.\(name)"), name) }

        let camURL = directory.appendingPathComponent("cam.safetensors")
        let cam = try PeriscopeProcess.run(["attribute"] + Self.resnet + [
            "--target-class", "7", "--method", "gradcam", "--layers", "layer4", "--normalize", "min_max", "--output", camURL.path,
        ])
        #expect(cam.status == 0, "\(cam.standardError)")
        let camMaps = try SafetensorsFile(contentsOf: camURL)
        #expect(camMaps.names == ["gradcam:layer4"])
        expectMatches(try camMaps.tensor(named: "gradcam:layer4"), try Self.reference("resnet.class7.gradcam_minmax:layer4"), "gradcam:layer4")
    }

    @Test func vitOutputIndexTarget() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("maps.safetensors")
        let outcome = try PeriscopeProcess.run([
            "attribute", "--architecture", "vit", "--config", Fixtures.url("vit_tiny/config.json").path,
            "--weights", Fixtures.url("vit_tiny/model.safetensors").path, "--input", Fixtures.url("vit_tiny/input.safetensors").path,
            "--target-index", "0,5", "--output", output.path,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let maps = try SafetensorsFile(contentsOf: output)
        #expect(maps.names == ["input_grad"])
        expectMatches(try maps.tensor(named: "input_grad"), try Self.reference("vit.index_0_5.input_grad"), "input_grad")
    }

    /// Text in, the pooler's L2 norm (by its alias) as the target, JSON out: `input_grad` is the
    /// gradient with respect to `inputs_embeds`.
    @Test func bertTextLayerTargetToJSON() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("maps.json")
        var arguments = ["attribute", "--hf-dir", Fixtures.url("bert_tiny").path, "--target-layer", "pooler_output",
                         "--layers", "embeddings,encoder.layer.0", "--output", output.path]
        arguments += try Self.bertTexts()
        let outcome = try PeriscopeProcess.run(arguments)
        #expect(outcome.status == 0, "\(outcome.standardError)")

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as! [String: Any]
        #expect((json["model"] as? [String: String])?["architecture"] == "bert")
        let maps = json["attributions"] as! [String: [String: Any]]
        #expect(Set(maps.keys) == ["input_grad", "grad:embeddings", "grad:encoder.layer.0"])
        for (name, map) in maps {
            let shape = map["shape"] as! [Int]
            #expect(shape == [2, 16, 32], "\(name)")
            let values = (map["data"] as! [NSNumber]).map(\.floatValue)
            expectMatches(Tensor(shape: shape, scalars: values), try Self.reference("bert.pooler_l2.\(name)"), name)
        }
    }

    /// BERT's token ids with `--method integrated_gradients` (refused before: no floating-point
    /// input): the map at the word embeddings' output and its per-token sums equal Captum's
    /// LayerIntegratedGradients on `word_embeddings` (Tests/Fixtures/gradients/token_attributions.safetensors).
    @Test func bertIntegratedGradientsOverText() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("ig.safetensors")
        var arguments = ["attribute", "--hf-dir", Fixtures.url("bert_tiny").path, "--target-layer", "pooler_output",
                         "--method", "integrated_gradients", "--steps", "16", "--baseline-token", "100", "--copies-per-pass", "4",
                         "--output", output.path]
        arguments += try Self.bertTexts()
        let outcome = try PeriscopeProcess.run(arguments)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput == "wrote 2 maps to \(output.path): integrated_gradients [2, 16, 32], integrated_gradients:tokens [2, 16]\n")
        let maps = try SafetensorsFile(contentsOf: output)
        let reference = try SafetensorsFile(contentsOf: Fixtures.url("gradients/token_attributions.safetensors")).tensor(named: "ig.unk.gausslegendre")
        expectMatches(try maps.tensor(named: "integrated_gradients"), reference, "integrated_gradients")
        expectMatches(try maps.tensor(named: "integrated_gradients:tokens"), reference.sum(axes: [2]), "integrated_gradients:tokens")
    }

    /// `--method attention_rollout` needs no target: the ViT's map on its patch grid (`--no-upsample`)
    /// and BERT's per token equal the rollout reference (Tests/Fixtures/gradients/rollout.safetensors).
    @Test func attentionRolloutOnViTAndBERT() throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let references = try SafetensorsFile(contentsOf: Fixtures.url("gradients/rollout.safetensors"))
        let output = directory.appendingPathComponent("rollout.safetensors")
        let vit = try PeriscopeProcess.run([
            "attribute", "--architecture", "vit", "--config", Fixtures.url("vit_tiny/config.json").path,
            "--weights", Fixtures.url("vit_tiny/model.safetensors").path, "--input", Fixtures.url("vit_tiny/input.safetensors").path,
            "--method", "attention_rollout", "--head-fusion", "max", "--discard-ratio", "0.9", "--no-upsample", "--output", output.path,
        ])
        #expect(vit.status == 0, "\(vit.standardError)")
        #expect(vit.standardOutput == "wrote 1 maps to \(output.path): attention_rollout [2, 1, 4, 4]\n")
        let maps = try SafetensorsFile(contentsOf: output)
        #expect(maps.names == ["attention_rollout"] && maps.metadata["method"] == "attention_rollout" && maps.metadata["target"] == nil)
        #expect(maps.metadata["head_fusion"] == "max" && maps.metadata["discard_ratio"] == "0.9")
        expectMatches(try maps.tensor(named: "attention_rollout"), try references.tensor(named: "vit.max.discard0.9"), "vit")

        let json = directory.appendingPathComponent("rollout.json")
        var arguments = ["attribute", "--hf-dir", Fixtures.url("bert_tiny").path, "--method", "attention_rollout", "--output", json.path]
        arguments += try Self.bertTexts()
        let bert = try PeriscopeProcess.run(arguments)
        #expect(bert.status == 0, "\(bert.standardError)")
        let map = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])?["attributions"] as? [String: [String: Any]])
        let entry = try #require(map["attention_rollout"])
        let shape = try #require(entry["shape"] as? [Int])
        let values = try #require(entry["data"] as? [NSNumber]).map(\.floatValue)
        expectMatches(Tensor(shape: shape, scalars: values), try references.tensor(named: "bert.mean"), "bert")
    }

    @Test(arguments: [
        (["--output", "x.safetensors"],
         "periscope: missing argument: exactly one target: --target-class K, --target-index I,J,… or --target-layer NAME\n"),
        (["--target-class", "1", "--target-layer", "layer3", "--output", "x.safetensors"],
         "periscope: missing argument: exactly one target: --target-class K, --target-index I,J,… or --target-layer NAME\n"),
        (["--target-index", "0,x", "--output", "x.safetensors"],
         "periscope: option --target-index: '0,x' is not comma-separated integers (one per output axis)\n"),
        (["--target-class", "1", "--method", "lime", "--output", "x.safetensors"],
         "periscope: option --method: 'lime' is not saliency, gradcam, gradcam_plus_plus, layercam, input_x_gradient, integrated_gradients, smoothgrad, attention_rollout\n"),
        (["--target-class", "1", "--output", "x.csv"],
         "periscope: option --output: 'x.csv' is not a .safetensors or .json file name\n"),
        (["--target-class", "1000", "--output", "x.safetensors"],
         "periscope: invalid target class 1000: class 1000 is out of range for the model's 1000 classes (0..<1000)\n"),
        (["--target-class", "1", "--method", "gradcam", "--output", "x.safetensors"],
         "periscope: gradcam, gradcam_plus_plus and layercam need at least one layer in \"layers\"\n"),
        (["--target-class", "1", "--method", "gradcam", "--layers", "fc", "--output", "x.safetensors"],
         "periscope: gradcam needs a [N, C, H, W] activation (or a transformer's patch tokens), layer 'fc' has shape [2, 1000]\n"),
        (["--method", "attention_rollout", "--output", "x.safetensors"],
         "periscope: attention_rollout needs a transformer with self-attention (ViT, DINOv2, BERT, CLIP's image tower); a resnet model has none\n"),
        (["--method", "attention_rollout", "--target-class", "1", "--output", "x.safetensors"],
         "periscope: option --target-class: '1' is not taken by attention_rollout, which reads the attention of one forward pass, whatever the class\n"),
        (["--method", "attention_rollout", "--layers", "layer4", "--output", "x.safetensors"],
         "periscope: option --layers: 'layer4' is not taken by attention_rollout, which reads the attention of every layer\n"),
        (["--method", "attention_rollout", "--head-fusion", "median", "--output", "x.safetensors"],
         "periscope: option --head-fusion: 'median' is not mean, max or min\n"),
        (["--method", "attention_rollout", "--discard-ratio", "1", "--output", "x.safetensors"],
         "periscope: option --discard-ratio: '1' is not a number from 0 up to (not including) 1\n"),
    ])
    func badArgumentsFailWithOneLine(_ extra: [String], _ message: String) throws {
        let directory = try PeriscopeProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = extra.map { $0.hasPrefix("x.") ? directory.appendingPathComponent($0).path : $0 }
        let outcome = try PeriscopeProcess.run(["attribute"] + Self.resnet + arguments)
        #expect(outcome.status == 1)
        #expect(outcome.standardError == message.replacingOccurrences(of: "x.csv", with: directory.appendingPathComponent("x.csv").path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("x.safetensors").path))
    }
}
