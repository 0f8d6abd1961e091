import NN

// What attribution needs to know about an architecture beyond running it.

extension Architecture {
    /// For each integer input, the layer whose output stands for it in saliency maps: BERT's token
    /// ids have no gradient, so `input_grad` is the gradient with respect to the word embeddings'
    /// output [N, S, hidden] — Hugging Face's `inputs_embeds`, the tensor a client would pass as
    /// `model(inputs_embeds=…)` to reproduce it in PyTorch (CLIP's text tower: its token
    /// embeddings, likewise). Empty for models with float inputs.
    public var attributionInputLayers: [String: String] {
        if case .bert = self { return ["input_ids": "embeddings.word_embeddings"] }
        if case .clip = self { return ["input_ids": "text_model.embeddings.token_embedding"] }
        return [:]
    }

    /// The number of token ids of the integer input `attributionInputLayers` stands in for (a
    /// token baseline of Integrated Gradients must be below it); nil for models without one.
    public var attributionVocabularySize: Int? {
        if case .bert(let configuration) = self { return configuration.vocabSize }
        if case .clip(let configuration) = self { return configuration.vocabSize }
        return nil
    }

    /// True for transformers whose token layers lie on a patch grid (ViT, DINOv2, CLIP's vision
    /// tower): their class-activation maps read tokens [N, prefix + H·W, C] as [N, C, H, W].
    public var hasPatchTokens: Bool {
        switch self {
        case .visionTransformer, .dinov2, .clip: true
        default: false
        }
    }

    /// The patch grid of token layers for an image of `imageHeight` × `imageWidth`: the class token
    /// (and DINOv2's register tokens) first, then ⌊H/p⌋ × ⌊W/p⌋ patches; nil for other models.
    public func tokenGrid(imageHeight: Int, imageWidth: Int) -> GradCAMOptions.TokenGrid? {
        switch self {
        case .visionTransformer(let configuration):
            GradCAMOptions.TokenGrid(prefixTokens: 1, height: imageHeight / configuration.patchSize, width: imageWidth / configuration.patchSize)
        case .dinov2(let configuration):
            GradCAMOptions.TokenGrid(prefixTokens: 1 + (configuration.numRegisterTokens ?? 0), height: imageHeight / configuration.patchSize,
                                     width: imageWidth / configuration.patchSize)
        case .clip(let configuration):
            GradCAMOptions.TokenGrid(prefixTokens: 1, height: imageHeight / configuration.patchSize, width: imageWidth / configuration.patchSize)
        default:
            nil
        }
    }

    /// Why attention rollout does not apply to this model for the inputs `catalog` was traced on
    /// (or the `inputs` of a call), nil when it does: it needs a transformer whose class token
    /// gathers the sequence — ViT, DINOv2, BERT, and CLIP's image tower. CLIP's text tower is
    /// refused (its attention is causal and it pools at the end-of-text token, not a class token).
    public func attentionRolloutRefusal(catalog: LayerCatalog? = nil, inputs: [String]? = nil) -> String? {
        switch self {
        case .visionTransformer, .dinov2, .bert:
            return nil
        case .clip:
            let text = inputs.map { !$0.contains("pixel_values") }
                ?? catalog.map { $0.isTraced && $0.layers.contains { $0.modulePath.hasPrefix("text_model.") } } ?? false
            return text ? "on CLIP needs an image (pixel_values): the text tower's attention is causal and it pools at the end-of-text "
                + "token, not a class token" : nil
        case .onnx:
            return "is not supported for imported ONNX models (their attention is graph operators that report no probabilities)"
        case .resnet, .mlp, .convNeXt:
            return "needs a transformer with self-attention (ViT, DINOv2, BERT, CLIP's image tower); a \(family) model has none"
        }
    }

    /// The output axes whose size depends on the input (the batch; BERT's sequence), where an
    /// `output_index` target can only be checked once the model has run.
    var inputDependentOutputAxes: Set<Int> {
        if case .bert = self { return [0, 1] }
        return [0]
    }
}
