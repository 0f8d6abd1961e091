import Tensors

// Input attributions built on the input gradient: Gradient × Input, Integrated Gradients and
// SmoothGrad, as Captum computes them. Each evaluates the gradient of the target at several
// modified copies of the input (scaled towards a baseline, or with noise added); the copies are
// stacked along the batch axis, `copiesPerPass` at a time, so one forward/backward pass serves
// several of them and memory stays bounded whatever the number of steps.

extension Module {
    /// Computes an input attribution (`request.method.isInputAttribution`) of every floating-point
    /// input: `input_x_gradient`, `integrated_gradients` or `smoothgrad` (with `:<input>` when there
    /// are several), float32 and shaped like the input. Integer inputs are held fixed.
    ///
    /// - `noise`: SmoothGrad's noise per sample and input; nil draws N(0, σ²) from a generator seeded
    ///   with `options.seed` (tests pass the reference's noise).
    /// - Throws: `AttributionError.noDifferentiableInput` without a floating-point input, and what
    ///   `attribute` throws for the target.
    public final func attributeInputs(_ request: AttributionRequest, inputs: [String: Tensor], catalog: LayerCatalog? = nil,
                                      noise: ((_ sample: Int, _ input: String) -> Tensor)? = nil,
                                      forward: ([String: Tensor]) throws -> Tensor) throws -> CapturedFeatures {
        precondition(request.method.isInputAttribution, "attributeInputs: \(request.method) is not an input attribution")
        let options = request.inputAttribution
        let names = inputs.keys.sorted().filter { inputs[$0]!.dtype.isFloatingPoint }
        guard !names.isEmpty else { throw AttributionError.noDifferentiableInput(inputs: inputs.keys.sorted()) }
        let originals = Dictionary(uniqueKeysWithValues: names.map { ($0, inputs[$0]!.to(.float32)) })

        // The copies to differentiate: per copy, a weight and how to build each input from the original.
        var copies: [(weight: Float, make: (String, Tensor) -> Tensor)] = []
        switch request.method {
        case .inputXGradient:
            copies = [(1, { _, x in x })]
        case .integratedGradients:
            let (alphas, weights) = options.rule.points(steps: options.steps)
            let baseline = options.baseline
            for (alpha, weight) in zip(alphas, weights) {
                // baseline + α·(x − baseline), as Captum scales.
                copies.append((Float(weight), { _, x in (x - baseline) * Float(alpha) + baseline }))
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
            for name in inputs.keys {
                let parts = group.map { copy in names.contains(name) ? copy.make(name, originals[name]!) : inputs[name]! }
                stacked[name] = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
            }
            let gradients = try attribute(saliency, inputs: stacked, catalog: catalog, forward: forward)
            for name in names {
                let key = AttributionRequest.inputGradientKey(input: name, only: names.count == 1)
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
            case .integratedGradients: map = map * (originals[name]! - options.baseline)
            default: break
            }
            result.record(AttributionRequest.inputAttributionKey(request.method, input: name, only: names.count == 1), map)
        }
        return result
    }
}
