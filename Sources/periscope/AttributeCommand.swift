import CommandLineSupport
import Foundation
import Models
import NN
import Tensors

// `periscope attribute …`: gradients of a target with respect to the input and to named layers
// (saliency), Grad-CAM maps, input attributions or attention rollout, from the command line.

/// `attribute MODEL-SOURCE INPUT (--target-class K | --target-index I,J,… | --target-layer NAME)
/// [--method saliency|gradcam|gradcam_plus_plus|layercam|input_x_gradient|integrated_gradients|smoothgrad|attention_rollout]
/// [--layers L1,L2] [--normalize none|min_max] [--no-upsample] [--steps N] [--integration RULE] [--baseline B]
/// [--baseline-token ID|zero] [--samples N] [--noise-stddev S] [--seed N] [--copies-per-pass N] [--head-fusion mean|max|min] [--discard-ratio R]
/// --output OUT.safetensors|OUT.json [--max-length N]`.
///
/// The model and input arguments are `extract`'s (`ModelSource`, `ModelInput`). The target is
/// summed over the batch: the logit of class K, one output element by its full index, or the L2
/// norm of a layer's activation per sample. `attention_rollout` takes no target and no layers: it
/// writes `attention_rollout` (the patch grid for ViT/DINOv2/CLIP images, upsampled unless
/// `--no-upsample`; one value per token for BERT), with `--head-fusion` and `--discard-ratio`. Saliency writes `input_grad` (BERT: the gradient with
/// respect to the word embeddings' output, Hugging Face's `inputs_embeds`) and `grad:<layer>`
/// per layer; Grad-CAM writes `gradcam:<layer>` (upsampled to the image size unless
/// `--no-upsample`; raw unless `--normalize min_max`); the input attributions write one map per
/// floating-point input under the method's name (`integrated_gradients`, with `--steps`,
/// `--integration` and `--baseline`; `smoothgrad`, with `--samples`, `--noise-stddev` and `--seed`;
/// `--copies-per-pass` bounds the memory). BERT's token ids are attributed at the word embeddings'
/// output ([N, S, hidden], Captum's `LayerIntegratedGradients` on `word_embeddings`), with the
/// per-token sums `<method>:tokens` [N, S]; `--baseline-token` is the baseline token id (default 0,
/// [PAD]) or `zero` for a zero embedding. Output as `TensorOutput` (JSON section
/// `attributions`; safetensors metadata `model`, `method`, `target` as JSON).
enum AttributeCommand {
    static let usage = "attribute " + ModelSource.usage + " " + ModelInput.usage
        + " (--target-class K | --target-index I,J,… | --target-layer NAME)"
        + " [--method saliency|gradcam|gradcam_plus_plus|layercam|input_x_gradient|integrated_gradients|smoothgrad|attention_rollout]"
        + " [--layers L1,L2] [--normalize none|min_max] [--no-upsample] [--steps N] [--integration RULE] [--baseline B] [--baseline-token ID|zero]"
        + " [--samples N] [--noise-stddev S] [--seed N] [--copies-per-pass N] [--head-fusion mean|max|min] [--discard-ratio R]"
        + " --output OUT.safetensors|OUT.json [--max-length N]"

    static func run(_ arguments: inout CommandLineArguments) throws {
        let input = try ModelInput.parse(&arguments)
        let methodName = try arguments.option("method") ?? AttributionMethod.saliency.rawValue
        guard let method = AttributionMethod(rawValue: methodName) else {
            throw CommandLineError.invalidValue(option: "method", value: methodName,
                                                expected: AttributionMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let target = try parseTarget(&arguments, method: method)
        let inputAttribution = try parseInputAttribution(&arguments)
        let rollout = try parseRollout(&arguments)
        let layersText = try arguments.option("layers")
        if method == .attentionRollout, let layersText {
            throw CommandLineError.invalidValue(option: "layers", value: layersText, expected: "taken by attention_rollout, which reads the attention of every layer")
        }
        let layers = try layersText.map(ExtractCommand.parseLayers) ?? []
        let normalizationName = try arguments.option("normalize") ?? GradCAMOptions.Normalization.none.rawValue
        guard let normalization = GradCAMOptions.Normalization(rawValue: normalizationName) else {
            throw CommandLineError.invalidValue(option: "normalize", value: normalizationName, expected: "none or min_max")
        }
        let upsample = !arguments.flag("no-upsample")
        guard let outputPath = try arguments.option("output") else { throw CommandLineError.missingArgument("--output OUT.safetensors|OUT.json") }
        let source = try ModelSource.parse(&arguments, requiresWeights: true)
        try arguments.finish()
        let output = try TensorOutput(path: outputPath)
        let request = Attribution(target: target, method: method, layers: layers,
                                  gradCAM: GradCAMOptions(normalization: normalization, upsampleToInput: upsample),
                                  inputAttribution: inputAttribution, rollout: rollout)

        let model = try source.load()
        let inputs = try input.load(for: model)
        let replica = try model.makeReplica()
        let maps = try replica.attribute(request, inputs: inputs)
        var metadata = ["method": method.rawValue]
        if let target { metadata["target"] = String(decoding: try JSONEncoder().encode(target), as: UTF8.self) }
        if method == .attentionRollout {
            metadata["head_fusion"] = rollout.headFusion.rawValue
            metadata["discard_ratio"] = "\(rollout.discardRatio)"
        }
        try output.write(maps, model: model, section: "attributions", metadata: metadata)
        let summary = maps.entries.map { "\($0.name) \($0.tensor.shape)" }.joined(separator: ", ")
        print("wrote \(maps.count) maps to \(outputPath): \(summary)")
    }

    /// `--steps`, `--integration`, `--baseline`, `--baseline-token`, `--samples`, `--noise-stddev`, `--seed`, `--copies-per-pass`.
    static func parseInputAttribution(_ arguments: inout CommandLineArguments) throws -> InputAttributionOptions {
        var options = InputAttributionOptions()
        if let text = try arguments.option("integration") {
            guard let rule = IntegrationRule(rawValue: text) else {
                throw CommandLineError.invalidValue(option: "integration", value: text,
                                                    expected: IntegrationRule.allCases.map(\.rawValue).joined(separator: ", "))
            }
            options.rule = rule
        }
        for (name, range) in [("steps", (options.rule == .gaussLegendre ? 1 : 2)...1024), ("samples", 1...1024), ("copies-per-pass", 1...1024)] {
            guard let value = try arguments.integerOption(name) else { continue }
            guard range.contains(value) else {
                throw CommandLineError.invalidValue(option: name, value: "\(value)", expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            switch name {
            case "steps": options.steps = value
            case "samples": options.samples = value
            default: options.copiesPerPass = value
            }
        }
        if let text = try arguments.option("baseline") {
            guard let baseline = Float(text), baseline.isFinite else {
                throw CommandLineError.invalidValue(option: "baseline", value: text, expected: "a finite number")
            }
            options.baseline = baseline
        }
        if let text = try arguments.option("baseline-token") {
            if text == "zero" {
                options.tokenBaseline = .zeroEmbedding
            } else {
                guard let id = Int(text), id >= 0 else {
                    throw CommandLineError.invalidValue(option: "baseline-token", value: text, expected: "a token id (a non-negative integer) or zero")
                }
                options.tokenBaseline = .token(id)
            }
        }
        if let text = try arguments.option("noise-stddev") {
            guard let deviation = Float(text), deviation.isFinite, deviation >= 0 else {
                throw CommandLineError.invalidValue(option: "noise-stddev", value: text, expected: "a non-negative number")
            }
            options.noiseStandardDeviation = deviation
        }
        if let seed = try arguments.integerOption("seed") {
            guard seed >= 0 else { throw CommandLineError.invalidValue(option: "seed", value: "\(seed)", expected: "a non-negative integer") }
            options.seed = UInt64(seed)
        }
        return options
    }

    /// `--head-fusion mean|max|min`, `--discard-ratio R` (0 ≤ R < 1).
    static func parseRollout(_ arguments: inout CommandLineArguments) throws -> AttentionRolloutOptions {
        var options = AttentionRolloutOptions()
        if let text = try arguments.option("head-fusion") {
            guard let fusion = AttentionRolloutOptions.HeadFusion(rawValue: text) else {
                throw CommandLineError.invalidValue(option: "head-fusion", value: text, expected: "mean, max or min")
            }
            options.headFusion = fusion
        }
        if let text = try arguments.option("discard-ratio") {
            guard let ratio = Double(text), ratio >= 0 && ratio < 1 else {
                throw CommandLineError.invalidValue(option: "discard-ratio", value: text, expected: "a number from 0 up to (not including) 1")
            }
            options.discardRatio = ratio
        }
        return options
    }

    /// Exactly one of `--target-class K`, `--target-index I,J,…`, `--target-layer NAME`; none for
    /// the methods without a target (attention_rollout).
    static func parseTarget(_ arguments: inout CommandLineArguments, method: AttributionMethod = .saliency) throws -> AttributionTarget? {
        let classIndex = try arguments.integerOption("target-class")
        let indexText = try arguments.option("target-index")
        let layer = try arguments.option("target-layer")
        if !method.usesGradients {
            guard classIndex == nil && indexText == nil && layer == nil else {
                throw CommandLineError.invalidValue(option: classIndex != nil ? "target-class" : indexText != nil ? "target-index" : "target-layer",
                                                    value: classIndex.map(String.init) ?? indexText ?? layer ?? "",
                                                    expected: "taken by \(method.rawValue), which reads the attention of one forward pass, whatever the class")
            }
            return nil
        }
        switch (classIndex, indexText, layer) {
        case let (k?, nil, nil):
            return .classIndex(k)
        case let (nil, text?, nil):
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !items.isEmpty, items.allSatisfy({ $0 != nil }) else {
                throw CommandLineError.invalidValue(option: "target-index", value: text, expected: "comma-separated integers (one per output axis)")
            }
            return .outputIndex(items.map { $0! })
        case let (nil, nil, name?):
            return .layerNorm(layer: name)
        default:
            throw CommandLineError.missingArgument("exactly one target: --target-class K, --target-index I,J,… or --target-layer NAME")
        }
    }
}
