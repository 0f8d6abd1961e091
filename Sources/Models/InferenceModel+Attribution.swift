import NN
import Tensors

// Gradient features on a replica: what `POST /v1/models/{name}/attributions` and
// `periscope attribute` run.

extension InferenceModel {
    /// Runs the model once with autograd recording on and returns the attribution maps for
    /// `attribution` (from `LoadedModel.resolveAttribution`), named as requested (aliases
    /// included): `input_grad` and `grad:<layer>` for saliency, `gradcam:<layer>` for Grad-CAM —
    /// detached float32 tensors (`Sendable`). Attention rollout runs once without recording and
    /// returns `attention_rollout`: [N, 1, H, W] for vision transformers (the patch grid, upsampled
    /// as `gradCAM` asks), [N, T] for BERT (zero at padding).
    ///
    /// `input_grad` is the gradient with respect to the model's input: the image for vision
    /// models and MLPs ([N, 3, H, W] / [N, features]); for BERT, whose token ids are integers,
    /// the gradient with respect to the word embeddings' output [N, S, hidden] (Hugging Face's
    /// `inputs_embeds`; see `Architecture.attributionInputLayers`). The input attributions
    /// (`input_x_gradient`, `integrated_gradients`, `smoothgrad`) attribute BERT's token ids at that
    /// layer too (`Module.attributeInputs`): [N, S, hidden], with the per-token sums `<method>:tokens`.
    ///
    /// Like a capture, the replica has no hooks afterwards, also when the call throws. Nothing
    /// shared changes: the weights are only read (their storage is shared with other replicas and
    /// copy-on-write), parameters' `grad` is left alone and no weight gradient is computed, and the
    /// graph is released before returning. Layers after the last needed one still run (a class or
    /// output target needs the output).
    ///
    /// - Throws: `ModelError` for bad inputs, `CaptureError` for a layer that did not run,
    ///   `AttributionError` for a target the output does not fit.
    public func attribute(_ attribution: ResolvedAttribution, inputs: [String: Tensor]) throws -> CapturedFeatures {
        var request = attribution.request
        let image = inputs[model.architecture.imageInputName ?? "input"].flatMap { $0.rank == 4 ? $0 : nil }
        // A transformer's token layers are read on the patch grid of this image (class and register tokens left out).
        if request.method.isClassActivationMap || request.method == .attentionRollout, request.gradCAM.tokenGrid == nil, let image {
            request.gradCAM.tokenGrid = model.architecture.tokenGrid(imageHeight: image.shape[2], imageWidth: image.shape[3])
        }
        if request.method == .attentionRollout {
            return try attentionRollout(request, inputs: inputs, imageSize: image.map { ($0.shape[2], $0.shape[3]) })
        }
        let maps = try module.attribute(request, inputs: inputs, catalog: attribution.catalog,
                                        inputLayers: model.architecture.attributionInputLayers) { arguments in
            try model.architecture.run(module, inputs: arguments)
        }
        return attribution.keyAliases.isEmpty ? maps : maps.addingAliases(attribution.keyAliases, dropping: attribution.droppedKeys)
    }

    /// Attention rollout over the attention of every layer (`Module.attentionRollout`): for text,
    /// each sample's real tokens are those its `attention_mask` marks (all without a mask).
    private func attentionRollout(_ request: Attribution, inputs: [String: Tensor], imageSize: (Int, Int)?) throws -> CapturedFeatures {
        if let reason = model.architecture.attentionRolloutRefusal(inputs: Array(inputs.keys)) {
            throw AttributionError.unsupportedModel(.attentionRollout, reason: reason)
        }
        var tokens: [[Int]]?
        if imageSize == nil, let mask = inputs["attention_mask"], mask.rank == 2 {
            let (rows, length) = (mask.shape[0], mask.shape[1]), values = mask.toInt64Array()
            tokens = (0..<rows).map { row in (0..<length).filter { values[row * length + $0] != 0 } }
        }
        return try module.attentionRollout(request, tokens: tokens, imageSize: imageSize) {
            _ = try model.architecture.run(module, inputs: inputs)
        }
    }

    /// Resolves `request` (against `catalog`, or a catalog traced on `inputs`, which costs one
    /// forward pass without recording) and runs it: `attribute(_:inputs:)` in one call.
    public func attribute(_ request: Attribution, inputs: [String: Tensor], catalog: LayerCatalog? = nil) throws -> CapturedFeatures {
        let catalog = try catalog ?? traceLayers(inputs: inputs)
        return try attribute(model.resolveAttribution(request, in: catalog), inputs: inputs)
    }
}
