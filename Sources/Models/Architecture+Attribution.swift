import NN

// What attribution needs to know about an architecture beyond running it.

extension Architecture {
    /// For each integer input, the layer whose output stands for it in saliency maps: BERT's token
    /// ids have no gradient, so `input_grad` is the gradient with respect to the word embeddings'
    /// output [N, S, hidden] — Hugging Face's `inputs_embeds`, the tensor a client would pass as
    /// `model(inputs_embeds=…)` to reproduce it in PyTorch. Empty for models with float inputs.
    public var attributionInputLayers: [String: String] {
        if case .bert = self { return ["input_ids": "embeddings.word_embeddings"] }
        return [:]
    }

    /// The output axes whose size depends on the input (the batch; BERT's sequence), where an
    /// `output_index` target can only be checked once the model has run.
    var inputDependentOutputAxes: Set<Int> {
        if case .bert = self { return [0, 1] }
        return [0]
    }
}
