import Tensors

// Gradient features: saliency (gradients of a target with respect to the input and to named
// layers) and Grad-CAM, as one library call the HTTP endpoint and the CLI wrap.

extension Module {
    /// Computes `request` for this model on named `inputs`, running `forward` (this model's call
    /// on the inputs, e.g. `{ try model($0["input"]!) }`) once with recording on.
    ///
    /// Returns named tensors (detached, in this order): `input_grad` (or `input_grad:<name>` when
    /// several inputs are differentiated) and `grad:<layer>` per selected layer call for
    /// `.saliency`; `<method>:<layer>` for the class-activation maps (`gradcam:<layer>`, …); the input attribution for the methods that
    /// compute one (`attributeInputs`); `attention_rollout` for attention rollout (`attentionRollout`,
    /// every token kept: a caller with a padding mask calls `attentionRollout` itself). Gradients are float32 and shaped like what
    /// they differentiate. Floating-point inputs are differentiated directly; an integer input
    /// (token ids) only through the layer `inputLayers` names for it, otherwise it has no
    /// `input_grad`.
    ///
    /// Only the inputs and the layers' activations are differentiated: parameters need not
    /// require grad and their `grad` is left alone (the weights' gradients are not computed).
    /// A selected activation that is not tracked (integer inputs, nothing before it requiring
    /// grad) becomes a leaf, so gradients still reach it. Hooks live only for the call and are
    /// removed also when it throws; the graph is released before returning.
    ///
    /// - Parameters:
    ///   - catalog: resolves `request.layers` and a target layer (a traced catalog gives exact
    ///     call names); without one, the module tree.
    ///   - inputLayers: for integer inputs, the layer (one call, by capture name) whose output
    ///     stands for the input in saliency: its gradient is reported as the input's
    ///     (BERT: `input_ids` → `embeddings.word_embeddings`, i.e. Hugging Face's `inputs_embeds`);
    ///     the input attributions attribute at it (`attributeInputs`).
    /// - Throws: `CaptureError` for unknown or unproduced layers, `AttributionError` for a target
    ///   that does not fit, a layer Grad-CAM cannot use, or saliency with nothing to differentiate,
    ///   and any error from `forward`.
    public final func attribute(_ request: Attribution, inputs: [String: Tensor], catalog: LayerCatalog? = nil,
                                inputLayers: [String: String] = [:],
                                forward: ([String: Tensor]) throws -> Tensor) throws -> CapturedFeatures {
        if request.method == .attentionRollout {
            // No gradients: one forward pass (every token kept; `attentionRollout` takes a padding mask).
            let imageSize = inputs.values.first { $0.rank == 4 && $0.dtype.isFloatingPoint }.map { ($0.shape[2], $0.shape[3]) }
            return try attentionRollout(request, imageSize: imageSize) { _ = try forward(inputs) }
        }
        guard let target = request.target else { throw AttributionError.noTarget(request.method) }
        if request.method.isInputAttribution {
            return try attributeInputs(request, inputs: inputs, catalog: catalog, inputLayers: inputLayers, forward: forward)
        }
        if request.method.isClassActivationMap && request.layers.isEmpty { throw AttributionError.noLayers }
        let catalog = catalog ?? LayerCatalog(moduleTreeOf: self)
        let inputNames = inputs.keys.sorted()
        let differentiateInputs = request.method == .saliency
        let floatNames = differentiateInputs ? inputNames.filter { inputs[$0]!.dtype.isFloatingPoint } : []
        // Integer inputs reach the gradient through their stand-in layer (by its capture name).
        let standIns: [(input: String, layer: String)] = differentiateInputs
            ? try inputNames.compactMap { name in
                guard !inputs[name]!.dtype.isFloatingPoint, let layer = inputLayers[name] else { return nil }
                guard let single = try LayerSelection.singleLayerName(layer, in: catalog) else {
                    preconditionFailure("attribute: the stand-in layer '\(layer)' of input '\(name)' must name one layer call")
                }
                return (name, single)
            }
            : []
        if differentiateInputs && floatNames.isEmpty && standIns.isEmpty && request.layers.isEmpty {
            throw AttributionError.noDifferentiableInput(inputs: inputNames)
        }

        var selectors = request.layers + standIns.map { .name($0.layer) }
        var targetLayer: String?
        if case .layerNorm(let layer) = target {
            guard let single = try LayerSelection.singleLayerName(layer, in: catalog) else {
                throw AttributionError.invalidTarget(target, reason: "the target layer must name one layer call, not a pattern")
            }
            targetLayer = single
            selectors.append(.name(layer))
        }
        let selection: LayerSelection? = selectors.isEmpty ? nil : try LayerSelection(selectors, in: catalog)
        let requestedSelection = request.layers.isEmpty ? nil : try LayerSelection(request.layers, in: catalog)
        let requested = Set(requestedSelection?.targets ?? [])
        let requestsOutput = requestedSelection?.includesOutput ?? false

        return try GradMode.withEnabled {
            var arguments = inputs
            var leaves: [(name: String, tensor: Tensor)] = []
            if differentiateInputs {
                for name in floatNames {
                    var leaf = inputs[name]!.detached()
                    leaf.requiresGrad = true
                    arguments[name] = leaf
                    leaves.append((name, leaf))
                }
            }
            // Activations of the selected layer calls, with their graph, in the order they ran.
            var activations: [(name: String, tensor: Tensor, requested: Bool)] = []
            let taps = try selection.map { selection in
                try LayerTaps(on: self, selection: selection) { visit in
                    guard visit.tensor.dtype.isFloatingPoint else { return nil }
                    let isRequested = visit.target.map { requested.contains($0) } ?? requestsOutput
                    if visit.tensor.requiresGrad {
                        activations.append((visit.name, visit.tensor, isRequested))
                        return nil
                    }
                    var leaf = visit.tensor.detached()
                    leaf.requiresGrad = true
                    activations.append((visit.name, leaf, isRequested))
                    return leaf
                }
            }
            defer { taps?.removeAll() }
            let output = try forward(arguments)
            try taps?.checkEverythingProduced()

            let scalar = try targetScalar(target, output: output,
                                          activations: activations.map { ($0.name, $0.tensor) }, targetLayer: targetLayer)
            // The layers the request names (a target layer only serves the target, unless asked for too).
            let layerEntries = activations.filter(\.requested)
            var standInTensors: [(input: String, tensor: Tensor)] = []
            for (input, layer) in standIns {
                guard let entry = activations.first(where: { $0.name == layer }) else {
                    throw CaptureError.layersNotProduced([layer])
                }
                standInTensors.append((input, entry.tensor))
            }
            let inputEntries = leaves + standInTensors.map { (name: $0.input, tensor: $0.tensor) }
            let wanted = inputEntries.map(\.tensor) + layerEntries.map(\.tensor)
            let gradients = try Tensor.gradients(of: scalar, withRespectTo: wanted)

            var result = CapturedFeatures()
            switch request.method {
            case .saliency:
                for (index, entry) in inputEntries.enumerated() {
                    result.record(Attribution.inputGradientKey(input: entry.name, only: inputEntries.count == 1), gradients[index])
                }
                for (offset, entry) in layerEntries.enumerated() {
                    result.record(Attribution.gradientKey(layer: entry.name), gradients[inputEntries.count + offset])
                }
            case .gradcam, .gradCAMPlusPlus, .layerCAM:
                let imageSize = inputs.values.first { $0.rank == 4 && $0.dtype.isFloatingPoint }.map { ($0.shape[2], $0.shape[3]) }
                for (offset, entry) in layerEntries.enumerated() {
                    guard GradCAM.isSpatial(entry.tensor.shape, grid: request.gradCAM.tokenGrid) else {
                        throw AttributionError.notSpatial(layer: entry.name, shape: entry.tensor.shape)
                    }
                    let map = GradCAM.map(activation: entry.tensor, gradient: gradients[inputEntries.count + offset], method: request.method,
                                          options: request.gradCAM, inputSize: imageSize)
                    result.record(Attribution.classActivationMapKey(request.method, layer: entry.name), map)
                }
            case .inputXGradient, .integratedGradients, .smoothGrad, .attentionRollout:
                preconditionFailure("input attributions and attention rollout are computed by attributeInputs and attentionRollout")
            }
            return result
        }
    }

    /// The scalar to differentiate (summed over the batch).
    private func targetScalar(_ target: AttributionTarget, output: Tensor, activations: [(name: String, tensor: Tensor)],
                              targetLayer: String?) throws -> Tensor {
        switch target {
        case .classIndex(let k):
            guard output.rank == 2 else {
                throw AttributionError.invalidTarget(target, reason: "a class target needs a [N, classes] output, the model's output is \(output.shape)")
            }
            guard (0..<output.shape[1]).contains(k) else {
                throw AttributionError.invalidTarget(target, reason: "class \(k) is out of range for output \(output.shape) (0..<\(output.shape[1]))")
            }
            return output.selecting(axis: 1, index: k).sum()
        case .outputIndex(let index):
            guard index.count == output.rank else {
                throw AttributionError.invalidTarget(target, reason: "output_index needs \(output.rank) entries for output \(output.shape), got \(index.count)")
            }
            var element = output
            for (axis, position) in index.enumerated() {
                guard (0..<output.shape[axis]).contains(position) else {
                    throw AttributionError.invalidTarget(target, reason: "index \(position) on axis \(axis) is out of range for output \(output.shape)")
                }
                element = element.selecting(axis: 0, index: position)
            }
            return element
        case .layerNorm(let layer):
            guard let activation = activations.first(where: { $0.name == (targetLayer ?? layer) })?.tensor else {
                throw AttributionError.invalidTarget(target, reason: "layer '\(layer)' did not produce a floating-point activation")
            }
            // PyTorch's activation.flatten(1).norm(dim=1).sum(): a sample whose activation is all
            // zeros contributes a zero gradient (vectorNorm's), not NaN.
            let samples = activation.rank == 0 ? 1 : activation.shape[0]
            let perSample = activation.to(.float32).reshaped([samples, activation.count / Swift.max(samples, 1)])
            return perSample.vectorNorm(axes: [1]).sum()
        }
    }
}

extension UnaryModule {
    /// `attribute(_:inputs:catalog:forward:)` for a model with one input, named `input`.
    public final func attribute(_ request: Attribution, input: Tensor, catalog: LayerCatalog? = nil) throws -> CapturedFeatures {
        try attribute(request, inputs: ["input": input], catalog: catalog) { try self($0["input"]!) }
    }
}
