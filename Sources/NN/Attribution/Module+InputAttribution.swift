import Tensors

// Input attributions built on the input gradient: Gradient × Input, Integrated Gradients and
// SmoothGrad, as Captum computes them. Each evaluates the gradient of the target at several
// modified copies of the input (scaled towards a baseline, or with noise added); the copies are
// stacked along the batch axis, `copiesPerPass` at a time, so one forward/backward pass serves
// several of them and memory stays bounded whatever the number of steps.

extension Module {
    /// Computes an input attribution (`request.method.isInputAttribution`) of every floating-point
    /// input and of every integer input with a stand-in layer in `inputLayers` (BERT's `input_ids`
    /// → `embeddings.word_embeddings`): `input_x_gradient`, `integrated_gradients` or `smoothgrad`
    /// (with `:<input>` when there are several), float32, shaped like the input — or, for an integer
    /// input, like its stand-in layer's output ([N, S, hidden]). Other integer inputs are held fixed.
    ///
    /// An integer input is attributed at its stand-in layer, as Captum's
    /// `LayerIntegratedGradients(model, layer)` and `LayerGradientXActivation(model, layer)`: the
    /// layer's output e (read in one pass without recording) is *replaced* in each copy by
    /// b + α·(e − b) (Integrated Gradients), e (Gradient × Input) or e + noise (SmoothGrad), and
    /// the gradient is taken with respect to that replacement. The baseline b is the layer's output
    /// for ids all equal to the token of `options.tokenBaseline` ([PAD], id 0, by default), or 0
    /// (`.zeroEmbedding`). For these inputs Gradient × Input and Integrated Gradients also give the
    /// per-token sum over the last axis, [N, S], keyed `<key>:tokens` (`integrated_gradients:tokens`):
    /// the raw sum, not divided by its norm as Captum's tutorials' `summarize_attributions` does.
    ///
    /// - `noise`: SmoothGrad's noise per sample and input; nil draws N(0, σ²) from a generator seeded
    ///   with `options.seed` (tests pass the reference's noise).
    /// - Throws: `AttributionError.noDifferentiableInput` with nothing to attribute, and what
    ///   `attribute` throws for the target.
    public final func attributeInputs(_ request: Attribution, inputs: [String: Tensor], catalog: LayerCatalog? = nil,
                                      inputLayers: [String: String] = [:],
                                      noise: ((_ sample: Int, _ input: String) -> Tensor)? = nil,
                                      forward: ([String: Tensor]) throws -> Tensor) throws -> CapturedFeatures {
        precondition(request.method.isInputAttribution, "attributeInputs: \(request.method) is not an input attribution")
        let options = request.inputAttribution
        let floatNames = inputs.keys.sorted().filter { inputs[$0]!.dtype.isFloatingPoint }
        let standInNames = inputs.keys.sorted().filter { !inputs[$0]!.dtype.isFloatingPoint && inputLayers[$0] != nil }
        let names = (floatNames + standInNames).sorted()
        guard !names.isEmpty else { throw AttributionError.noDifferentiableInput(inputs: inputs.keys.sorted()) }
        var originals = Dictionary(uniqueKeysWithValues: floatNames.map { ($0, inputs[$0]!.to(.float32)) })
        // Integer inputs: their stand-in layer's output (by capture name), and its baseline.
        var standIns: [String: String] = [:]
        var baselines: [String: Tensor] = [:]
        if !standInNames.isEmpty {
            let catalog = catalog ?? LayerCatalog(moduleTreeOf: self)
            for name in standInNames {
                guard let single = try LayerSelection.singleLayerName(inputLayers[name]!, in: catalog) else {
                    preconditionFailure("attributeInputs: the stand-in layer '\(inputLayers[name]!)' of input '\(name)' must name one layer call")
                }
                standIns[name] = single
            }
            let outputs = try standInOutputs(standIns, inputs: inputs, catalog: catalog, forward: forward)
            for name in standInNames { originals[name] = outputs[name]! }
            if request.method == .integratedGradients {
                switch options.tokenBaseline {
                case .zeroEmbedding:
                    for name in standInNames {
                        let shape = originals[name]!.shape
                        baselines[name] = Tensor(shape: shape, elements: [Float](repeating: 0, count: shape.reduce(1, *)))
                    }
                case .token(let id):
                    var baselineInputs = inputs
                    for name in standInNames {
                        let ids = inputs[name]!
                        baselineInputs[name] = Tensor(shape: ids.shape, elements: [Int64](repeating: Int64(id), count: ids.count)).to(ids.dtype)
                    }
                    baselines = try standInOutputs(standIns, inputs: baselineInputs, catalog: catalog, forward: forward)
                }
            }
        }
        let layerBaselines = baselines

        // The copies to differentiate: per copy, a weight and how to build each input from the original.
        var copies: [(weight: Float, make: (String, Tensor) -> Tensor)] = []
        switch request.method {
        case .inputXGradient:
            copies = [(1, { _, x in x })]
        case .integratedGradients:
            let (alphas, weights) = options.rule.points(steps: options.steps)
            for (alpha, weight) in zip(alphas, weights) {
                // baseline + α·(x − baseline), as Captum scales.
                copies.append((Float(weight), { name, x in
                    if let b = layerBaselines[name] { return (x - b) * Float(alpha) + b }
                    return (x - options.baseline) * Float(alpha) + options.baseline
                }))
            }
        case .smoothGrad:
            var generator = SeededGenerator(seed: options.seed)
            for sample in 0..<options.samples {
                // Drawn up front, in a fixed order, so the result does not depend on copiesPerPass.
                var drawn: [String: Tensor] = [:]
                for name in names {
                    drawn[name] = noise?(sample, name)
                        ?? Tensor.normal(originals[name]!.shape, standardDeviation: options.noiseStandardDeviation, using: &generator)
                }
                copies.append((1 / Float(options.samples), { name, x in x + drawn[name]! }))
            }
        case .saliency, .gradcam, .gradCAMPlusPlus, .layerCAM, .attentionRollout:
            preconditionFailure("unreachable")
        }

        // Σ weight · gradient(copy), `copiesPerPass` copies stacked along the batch axis per pass.
        var totals: [String: Tensor] = [:]
        let perPass = Swift.max(1, options.copiesPerPass)
        var saliency = request
        saliency.method = .saliency
        saliency.layers = []
        // A single-element target (one row of the output) differentiates one copy per pass.
        let stackable: Bool = if case .outputIndex = request.target { false } else { true }
        var start = 0
        while start < copies.count {
            let group = Array(copies[start..<Swift.min(copies.count, start + (stackable ? perPass : 1))])
            var stacked = inputs
            // Floating-point inputs are built per copy; the others (ids, masks) repeat per copy.
            for name in inputs.keys {
                let parts = group.map { copy in floatNames.contains(name) ? copy.make(name, originals[name]!) : inputs[name]! }
                stacked[name] = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
            }
            // Stand-in layers: their output is replaced by the copies' (a constant, made a leaf by `attribute`).
            var replacements: [String: Tensor] = [:]
            for (name, layer) in standIns {
                let parts = group.map { copy in copy.make(name, originals[name]!) }
                replacements[layer] = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
            }
            let gradients = try replacingOutputs(replacements, catalog: catalog) {
                try attribute(saliency, inputs: stacked, catalog: catalog, inputLayers: standIns.isEmpty ? [:] : inputLayers, forward: forward)
            }
            for name in names {
                let key = Attribution.inputGradientKey(input: name, only: names.count == 1)
                guard let gradient = gradients[key] else { preconditionFailure("attributeInputs: no gradient for \(name)") }
                let rows = originals[name]!.shape.first ?? 1
                for (index, copy) in group.enumerated() {
                    let part = group.count == 1 ? gradient : gradient.sliced(axis: 0, index * rows..<(index + 1) * rows)
                    let weighted = part * copy.weight
                    if let total = totals[name] { totals[name] = total + weighted } else { totals[name] = weighted }
                }
            }
            start += group.count
        }

        var result = CapturedFeatures()
        for name in names {
            var map = totals[name]!
            switch request.method {
            case .inputXGradient: map = map * originals[name]!
            case .integratedGradients:
                map = map * (layerBaselines[name].map { originals[name]! - $0 } ?? (originals[name]! - options.baseline))
            default: break
            }
            let key = Attribution.inputAttributionKey(request.method, input: name, only: names.count == 1)
            result.record(key, map)
            if standIns[name] != nil && request.method != .smoothGrad && map.rank >= 1 {
                result.record(Attribution.tokenAttributionKey(key), map.sum(axes: [map.rank - 1]))
            }
        }
        return result
    }

    /// The outputs of the stand-in layers (`standIns`: input → capture name) for `inputs`, detached,
    /// from one forward pass without recording.
    private func standInOutputs(_ standIns: [String: String], inputs: [String: Tensor], catalog: LayerCatalog,
                                forward: ([String: Tensor]) throws -> Tensor) throws -> [String: Tensor] {
        let selection = try LayerSelection(standIns.values.sorted().map { .name($0) }, in: catalog)
        var outputs: [String: Tensor] = [:]
        let taps = try LayerTaps(on: self, selection: selection) { visit in
            outputs[visit.name] = visit.tensor.detached().to(.float32)
            return nil
        }
        defer { taps.removeAll() }
        _ = try GradMode.withDisabled { try forward(inputs) }
        try taps.checkEverythingProduced()
        return standIns.mapValues { outputs[$0]! }
    }

    /// Runs `body` with the output of each layer call in `replacements` (by capture name) replaced
    /// by the given tensor, as a PyTorch forward hook returning a replacement does; the hooks are
    /// registered before any `body` registers (so later hooks see the replacement) and removed
    /// afterwards, also when `body` throws.
    private func replacingOutputs<Result>(_ replacements: [String: Tensor], catalog: LayerCatalog?,
                                          _ body: () throws -> Result) throws -> Result {
        guard !replacements.isEmpty else { return try body() }
        let catalog = catalog ?? LayerCatalog(moduleTreeOf: self)
        let selection = try LayerSelection(replacements.keys.sorted().map { .name($0) }, in: catalog)
        let taps = try LayerTaps(on: self, selection: selection) { visit in
            guard let replacement = replacements[visit.name] else { return nil }
            precondition(replacement.shape == visit.tensor.shape,
                         "replacingOutputs: '\(visit.name)' produced \(visit.tensor.shape), the replacement is \(replacement.shape)")
            return replacement.to(visit.tensor.dtype)
        }
        defer { taps.removeAll() }
        let result = try body()
        try taps.checkEverythingProduced()
        return result
    }
}
