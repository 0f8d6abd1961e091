import Tensors

// Gradient features: saliency (gradients of a target with respect to the input and to named
// layers) and Grad-CAM, as one library call the HTTP endpoint and the CLI wrap.

extension Module {
    /// Computes `request` for this model on named `inputs`, running `forward` (this model's call
    /// on the inputs, e.g. `{ try model($0["input"]!) }`) once with recording on.
    ///
    /// Returns named tensors (detached, in this order): `input_grad` (or `input_grad:<name>` when
    /// several inputs are floating-point; none for integer inputs such as token ids) and
    /// `grad:<layer>` per selected layer call for
    /// `.saliency`; `gradcam:<layer>` for `.gradcam`. Gradients are float32 and shaped like what
    /// they differentiate.
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
    /// - Throws: `CaptureError` for unknown or unproduced layers, `AttributionError` for a target
    ///   that does not fit or a layer Grad-CAM cannot use, and any error from `forward`.
    public final func attribute(_ request: AttributionRequest, inputs: [String: Tensor], catalog: LayerCatalog? = nil,
                                forward: ([String: Tensor]) throws -> Tensor) throws -> CapturedFeatures {
        if request.method == .gradcam && request.layers.isEmpty { throw AttributionError.noLayers }
        let catalog = catalog ?? LayerCatalog(moduleTreeOf: self)
        var selectors = request.layers
        var targetLayer: String?
        if case .layerNorm(let layer) = request.target {
            targetLayer = layer
            selectors.append(.name(layer))
        }
        let selection: LayerSelection? = selectors.isEmpty ? nil : try LayerSelection(selectors, in: catalog)
        let requested: Set<LayerSelection.Target> = request.layers.isEmpty ? [] : Set(try LayerSelection(request.layers, in: catalog).targets)

        let inputNames = inputs.keys.sorted()
        let floatNames = inputNames.filter { inputs[$0]!.dtype.isFloatingPoint }
        let differentiateInputs = request.method == .saliency
        // Integer inputs (token ids) have no gradient: saliency then needs layers to report.
        if differentiateInputs && floatNames.isEmpty && request.layers.isEmpty {
            throw AttributionError.noDifferentiableInput(inputs: inputNames)
        }

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
                    let isRequested = visit.target.map { requested.contains($0) } ?? false
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

            let scalar = try targetScalar(request.target, output: output,
                                          activations: activations.map { ($0.name, $0.tensor) }, targetLayer: targetLayer)
            // The layers the request names (a target layer only serves the target, unless asked for too).
            let layerEntries = activations.filter(\.requested)
            let wanted = leaves.map(\.tensor) + layerEntries.map(\.tensor)
            let gradients = try Tensor.gradients(of: scalar, withRespectTo: wanted)

            var result = CapturedFeatures()
            switch request.method {
            case .saliency:
                for (index, leaf) in leaves.enumerated() {
                    result.record(AttributionRequest.inputGradientKey(input: leaf.name, only: leaves.count == 1), gradients[index])
                }
                for (offset, entry) in layerEntries.enumerated() {
                    result.record(AttributionRequest.gradientKey(layer: entry.name), gradients[leaves.count + offset])
                }
            case .gradcam:
                let imageSize = inputs.values.first { $0.rank == 4 && $0.dtype.isFloatingPoint }.map { ($0.shape[2], $0.shape[3]) }
                for (offset, entry) in layerEntries.enumerated() {
                    guard entry.tensor.rank == 4 else { throw AttributionError.notSpatial(layer: entry.name, shape: entry.tensor.shape) }
                    let map = GradCAM.map(activation: entry.tensor, gradient: gradients[leaves.count + offset],
                                          options: request.gradCAM, inputSize: imageSize)
                    result.record(AttributionRequest.gradCAMKey(layer: entry.name), map)
                }
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
            let sampleAxes = Array(1..<Swift.max(activation.rank, 1))
            let perSample = activation.rank > 1 ? (activation * activation).sum(axes: sampleAxes).sqrt() : activation * activation
            return perSample.sum()
        }
    }
}

extension UnaryModule {
    /// `attribute(_:inputs:catalog:forward:)` for a model with one input, named `input`.
    public final func attribute(_ request: AttributionRequest, input: Tensor, catalog: LayerCatalog? = nil) throws -> CapturedFeatures {
        try attribute(request, inputs: ["input": input], catalog: catalog) { try self($0["input"]!) }
    }
}
