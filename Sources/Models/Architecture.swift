import Foundation
import NN
import ONNX
import Tensors

/// A model architecture with its configuration: everything needed to build the module tree.
/// `Sendable`, so it travels to worker threads that build their own replicas.
public enum Architecture: Sendable, Equatable {
    /// torchvision's ResNet (`resnet`, presets `resnet18` … `resnet152`).
    case resnet(ResNet.Configuration)
    /// torchvision's VisionTransformer (`vit`, presets `vit_b_16`, …).
    case visionTransformer(VisionTransformer.Configuration)
    /// Hugging Face's BertModel (`bert`, from a `config.json`).
    case bert(BertModel.Configuration)
    /// torchvision.ops.MLP (`mlp`).
    case mlp(MLP.Configuration)
    /// torchvision's ConvNeXt (`convnext`, presets `convnext_tiny` … `convnext_large`).
    case convNeXt(ConvNeXt.Configuration)
    /// Hugging Face's Dinov2Model / Dinov2WithRegistersModel (`dinov2`, from a `config.json`).
    case dinov2(Dinov2Model.Configuration)
    /// Hugging Face's CLIPModel (`clip`, from a `config.json`): image and text towers.
    case clip(CLIPModel.Configuration)
    /// An imported ONNX graph (`onnx`, from a `.onnx` file).
    case onnx(ONNXArchitecture)

    /// The registry family name: `resnet`, `vit`, `bert`, `mlp` or `onnx`.
    public var family: String {
        switch self {
        case .resnet: "resnet"
        case .visionTransformer: "vit"
        case .bert: "bert"
        case .mlp: "mlp"
        case .convNeXt: "convnext"
        case .dinov2: "dinov2"
        case .clip: "clip"
        case .onnx: "onnx"
        }
    }

    /// True for models that take images (input `input` [N, 3, H, W]; CLIP's `pixel_values`).
    public var isVision: Bool {
        switch self {
        case .resnet, .visionTransformer, .convNeXt, .dinov2, .clip: true
        case .bert, .mlp: false
        case .onnx(let model): model.isVision
        }
    }

    /// True for models that take token ids (`input_ids`): BERT, CLIP's text tower, ONNX text graphs.
    /// CLIP takes both images and text; a request gives one kind or the other.
    public var takesText: Bool { inputs.contains { $0.name == "input_ids" } }

    /// The name of the image input (`input`; CLIP's `pixel_values`), nil for models without one.
    public var imageInputName: String? {
        guard isVision else { return nil }
        if case .clip = self { return "pixel_values" }
        return inputs.first?.name
    }

    /// Builds the module tree with freshly initialized weights (PyTorch's initialization, drawn from
    /// the current random generator: wrap in `withRandomSeed` for reproducible weights), in
    /// evaluation mode.
    public func makeModule() throws -> Module {
        let module: Module = switch self {
        case .resnet(let configuration): try ResNet(configuration: configuration)
        case .visionTransformer(let configuration): try VisionTransformer(configuration: configuration)
        case .bert(let configuration): try BertModel(configuration: configuration)
        case .mlp(let configuration): try MLP(configuration: configuration)
        case .convNeXt(let configuration): try ConvNeXt(configuration: configuration)
        case .dinov2(let configuration): try Dinov2Model(configuration: configuration)
        case .clip(let configuration): try CLIPModel(configuration: configuration)
        case .onnx(let model): ONNXGraphModule(plan: model.plan)
        }
        return module.eval()
    }

    // MARK: - Inputs

    /// The input tensors a forward pass takes, in order.
    public var inputs: [InputSpecification] {
        switch self {
        case .resnet, .convNeXt:
            [InputSpecification(name: "input", dtypes: [.float32, .float16, .bfloat16],
                                shape: [.batch, .fixed(3), .size(default: 224), .size(default: 224)], isRequired: true)]
        case .visionTransformer(let configuration):
            [InputSpecification(name: "input", dtypes: [.float32, .float16, .bfloat16],
                                shape: [.batch, .fixed(3), .fixed(configuration.imageSize), .fixed(configuration.imageSize)], isRequired: true)]
        case .dinov2(let configuration):
            [InputSpecification(name: "input", dtypes: [.float32, .float16, .bfloat16],
                                shape: [.batch, .fixed(configuration.numChannels), .size(default: configuration.imageSize),
                                        .size(default: configuration.imageSize)], isRequired: true)]
        case .mlp(let configuration):
            [InputSpecification(name: "input", dtypes: [.float32, .float16, .bfloat16],
                                shape: [.batch, .fixed(configuration.inChannels)], isRequired: true)]
        case .bert(let configuration):
            ["input_ids", "attention_mask", "token_type_ids"].map { name in
                InputSpecification(name: name, dtypes: [.int64, .int32],
                                   shape: [.batch, .sequence(maximum: configuration.maxPositionEmbeddings)], isRequired: name == "input_ids")
            }
        case .clip(let configuration):
            // Either the image or the text (ids with an optional mask): neither alone is required.
            [InputSpecification(name: "pixel_values", dtypes: [.float32, .float16, .bfloat16],
                                shape: [.batch, .fixed(configuration.numChannels), .fixed(configuration.imageSize), .fixed(configuration.imageSize)],
                                isRequired: false)]
                + ["input_ids", "attention_mask"].map { name in
                    InputSpecification(name: name, dtypes: [.int64, .int32], shape: [.batch, .sequence(maximum: configuration.maxPositionEmbeddings)],
                                       isRequired: false)
                }
        case .onnx(let model):
            model.inputs
        }
    }

    /// The name of the tensor `forward` returns: `output` (logits), or `last_hidden_state` for BERT.
    public var outputName: String {
        switch self {
        case .bert, .dinov2: "last_hidden_state"
        default: LayerSelector.outputName
        }
    }

    /// Extra capture names this architecture answers to, mapped to the layer they stand for
    /// (BERT's `last_hidden_state` is the model's output, `pooler_output` the pooler's; an ONNX
    /// graph's tensor names are the layers producing them).
    public var layerAliases: [String: String] {
        if case .dinov2 = self { return ["last_hidden_state": LayerSelector.outputName] }
        // CLIP: the projections (not normalized), as `get_image_features` / `get_text_features` return them.
        if case .clip = self { return ["image_embeds": "visual_projection", "text_embeds": "text_projection"] }
        if case .onnx(let model) = self { return model.layerAliases }
        guard case .bert(let configuration) = self else { return [:] }
        var aliases = ["last_hidden_state": LayerSelector.outputName]
        if configuration.addPoolingLayer { aliases["pooler_output"] = "pooler" }
        return aliases
    }

    /// The image preprocessing torchvision's weights use for this architecture (resize the shorter
    /// side to 256/224 of the crop, center-crop, ImageNet mean/std), nil for non-image models.
    public var defaultImagePreprocessing: ImagePreprocessing.Configuration? {
        switch self {
        case .resnet, .convNeXt, .dinov2:
            return .imageNet
        case .visionTransformer(let configuration):
            let crop = configuration.imageSize
            return ImagePreprocessing.Configuration(resize: .shorterSide(Int((Double(crop) * 256 / 224).rounded())),
                                                    cropSize: .init(height: crop, width: crop))
        case .clip(let configuration):
            return .clip(size: configuration.imageSize)
        case .bert, .mlp:
            return nil
        case .onnx(let model):
            return model.defaultImagePreprocessing
        }
    }

    // MARK: - Running

    /// Runs `module` (built by `makeModule()`) on named inputs, checked against `inputs`.
    func run(_ module: Module, inputs: [String: Tensor]) throws -> Tensor {
        let known = self.inputs.map(\.name)
        if let unexpected = inputs.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelError.unexpectedInput(unexpected, known: known)
        }
        for specification in self.inputs {
            guard let tensor = inputs[specification.name] else {
                if specification.isRequired { throw ModelError.missingInput(specification.name, expected: specification.summary) }
                continue
            }
            try specification.check(tensor)
        }
        switch self {
        case .resnet, .visionTransformer, .mlp, .convNeXt, .dinov2:
            guard let module = module as? UnaryModule else { preconditionFailure("\(family): module \(module.typeName) is not unary") }
            return try module(inputs["input"]!.to(.float32))
        case .bert:
            guard let module = module as? BertModel else { preconditionFailure("bert: module \(module.typeName) is not a BertModel") }
            let ids = inputs["input_ids"]!
            for name in ["attention_mask", "token_type_ids"] {
                if let other = inputs[name], other.shape != ids.shape {
                    throw ModelError.invalidInput(name: name, reason: "expected the shape of input_ids \(ids.shape), got \(other.shape)")
                }
            }
            return try module(inputIds: ids, attentionMask: inputs["attention_mask"], tokenTypeIds: inputs["token_type_ids"])
        case .clip:
            guard let module = module as? CLIPModel else { preconditionFailure("clip: module \(module.typeName) is not a CLIPModel") }
            if let ids = inputs["input_ids"], let mask = inputs["attention_mask"], mask.shape != ids.shape {
                throw ModelError.invalidInput(name: "attention_mask", reason: "expected the shape of input_ids \(ids.shape), got \(mask.shape)")
            }
            if inputs["attention_mask"] != nil && inputs["input_ids"] == nil {
                throw ModelError.missingInput("input_ids", expected: "input_ids with the attention_mask")
            }
            return try module(pixelValues: inputs["pixel_values"], inputIds: inputs["input_ids"], attentionMask: inputs["attention_mask"])
        case .onnx(let model):
            guard let module = module as? ONNXGraphModule else { preconditionFailure("onnx: module \(module.typeName) is not an ONNXGraphModule") }
            return try model.run(module, inputs: inputs)
        }
    }
}
