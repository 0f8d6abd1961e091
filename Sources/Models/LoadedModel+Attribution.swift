import NN

// Checking an attribution request against a model before it is queued.

extension LoadedModel {
    /// Checks `request` against `catalog` (from `InferenceModel.traceLayers`) with this model's
    /// aliases, and rewrites it in the model's own layer names: pure and `Sendable`, for validation
    /// before queueing, like `resolveLayers` for features.
    ///
    /// Layers accept everything feature extraction does (names, globs, `:input`, indices, aliases).
    /// A target layer must name one layer call (an alias is fine); a class must exist in the
    /// model's [N, classes] output; an output index needs one entry per output axis, within the
    /// output's size on the axes that do not depend on the input (checked when the model runs
    /// for the batch and BERT's sequence axis); Grad-CAM needs layers whose traced output is
    /// [N, C, H, W]. Attention rollout takes no target and no layers (they are left as they are)
    /// and needs a transformer (`Architecture.attentionRolloutRefusal`).
    ///
    /// - Throws: `CaptureError` for unknown layers (with the closest valid names, aliases
    ///   included), `AttributionError` for a missing target or one that does not fit, Grad-CAM
    ///   without layers or on a layer that is not spatial, attention rollout on a model without
    ///   self-attention; `ModelError` for an imported ONNX model (no gradients).
    public func resolveAttribution(_ request: Attribution, in catalog: LayerCatalog) throws -> ResolvedAttribution {
        if case .onnx = architecture {
            // Many imported operators record no gradients: a map would be silently incomplete.
            throw ModelError.invalidInput(name: "method", reason: "attributions are not supported for imported ONNX models")
        }
        if request.method == .attentionRollout {
            // No target and no layers: the attention of every layer, read in one forward pass.
            if let reason = architecture.attentionRolloutRefusal(catalog: catalog) {
                throw AttributionError.unsupportedModel(.attentionRollout, reason: reason)
            }
            return ResolvedAttribution(request: request, catalog: catalog)
        }
        guard let target = request.target else { throw AttributionError.noTarget(request.method) }
        if request.method == .integratedGradients, case .token(let id) = request.inputAttribution.tokenBaseline,
           let vocabulary = architecture.attributionVocabularySize, !(0..<vocabulary).contains(id) {
            throw ModelError.invalidInput(name: "baseline_token", reason: "\(id) is out of range (expected a token id below vocab_size: 0..<\(vocabulary))")
        }
        if request.method.isClassActivationMap && request.layers.isEmpty { throw AttributionError.noLayers }
        let aliases = layerAliases
        var resolved = request
        var keyAliases: [(alias: String, name: String)] = []
        var droppedKeys = Set<String>()
        // The key prefix the request's layer maps carry: `grad:` for saliency, `<method>:` for the class-activation maps.
        let prefixes = request.method.isClassActivationMap ? [Attribution.classActivationMapKey(request.method, layer: "")]
                                                           : [Attribution.gradientKey(layer: "")]
        if !request.layers.isEmpty {
            let features = try resolveLayers(request.layers, in: catalog)
            resolved.layers = request.layers.map { selector in
                if case .name(let name) = selector, let target = aliases[name] { return .name(target) }
                return selector
            }
            for prefix in prefixes {
                keyAliases += features.aliases.map { (prefix + $0.alias, prefix + $0.name) }
                droppedKeys.formUnion(features.droppedNames.map { prefix + $0 })
            }
            if request.method.isClassActivationMap { try checkSpatial(features.selection, in: catalog) }
        }
        switch target {
        case .classIndex(let k):
            try checkClass(k, target: target, outputShape: catalog.outputShape)
        case .outputIndex(let index):
            try checkOutputIndex(index, target: target, outputShape: catalog.outputShape)
        case .layerNorm(let layer):
            let name = aliases[layer] ?? layer
            guard try LayerSelection.singleLayerName(name, in: catalog) != nil else {
                throw AttributionError.invalidTarget(target, reason: "the target layer must name one layer call, not a pattern")
            }
            resolved.target = .layerNorm(layer: name)
        }
        return ResolvedAttribution(request: resolved, catalog: catalog, keyAliases: keyAliases, droppedKeys: droppedKeys)
    }

    // MARK: - Checks

    /// Grad-CAM layers must produce [N, C, H, W] (as far as the traced catalog knows their shapes).
    private func checkSpatial(_ selection: LayerSelection, in catalog: LayerCatalog) throws {
        for target in selection.targets where target.point == .output {
            guard let call = target.call,
                  let shape = catalog.layers.first(where: { $0.modulePath == target.modulePath && $0.call == call })?.outputShape
            else { continue }
            // Token layers of a patch-grid transformer are checked against the grid when the model runs.
            if shape.count != 4 && !(shape.count == 3 && architecture.hasPatchTokens) {
                throw AttributionError.notSpatial(layer: target.name(call: call), shape: shape)
            }
        }
        if selection.includesOutput, let shape = catalog.outputShape, shape.count != 4 && !(shape.count == 3 && architecture.hasPatchTokens) {
            throw AttributionError.notSpatial(layer: LayerSelector.outputName, shape: shape)
        }
    }

    private func checkClass(_ k: Int, target: AttributionTarget, outputShape: [Int]?) throws {
        guard k >= 0 else { throw AttributionError.invalidTarget(target, reason: "class \(k) is negative") }
        guard let shape = outputShape else { return }
        guard shape.count == 2 else {
            throw AttributionError.invalidTarget(target, reason: "a class target needs a [N, classes] output, the model's output is "
                                                 + "\(shape) (use output_index or a layer target)")
        }
        guard k < shape[1] else {
            throw AttributionError.invalidTarget(target, reason: "class \(k) is out of range for the model's \(shape[1]) classes (0..<\(shape[1]))")
        }
    }

    private func checkOutputIndex(_ index: [Int], target: AttributionTarget, outputShape: [Int]?) throws {
        if let axis = index.firstIndex(where: { $0 < 0 }) {
            throw AttributionError.invalidTarget(target, reason: "index \(index[axis]) on axis \(axis) is negative")
        }
        guard let shape = outputShape else { return }
        guard index.count == shape.count else {
            throw AttributionError.invalidTarget(target, reason: "output_index needs \(shape.count) entries for the model's output "
                                                 + "(shape \(shape) for the default input), got \(index.count)")
        }
        let dependent = architecture.inputDependentOutputAxes
        for axis in index.indices where !dependent.contains(axis) && index[axis] >= shape[axis] {
            throw AttributionError.invalidTarget(target, reason: "index \(index[axis]) on axis \(axis) is out of range (0..<\(shape[axis]))")
        }
    }
}
