import Tensors

// The gradient inspector: scoped gradient probes on named layers, mirroring the forward capture.

extension Module {
    /// Runs `body` — a forward pass of this model and a backward pass from its loss — with
    /// gradient probes on the selected layers, and reports, per layer call, the statistics of
    /// |∂loss/∂output| with vanishing/exploding flags (and, with `includeParameters`, the same for
    /// every parameter's accumulated `grad` once `body` returns).
    ///
    /// The probes are forward hooks that register a gradient hook on each selected call's output;
    /// both are removed when the inspection ends — normally or by an error from `body` — so the
    /// tree has no hooks afterwards. Gradient recording must be on inside `body` (the default).
    ///
    /// - Parameters:
    ///   - layers: capture selectors (`layer3`, `layer4.*.relu`, indices); nil inspects every
    ///     module call.
    ///   - catalog: resolves the selectors (a traced catalog for exact call names); without one,
    ///     the module tree is used and globs inspect every call of the matched modules.
    /// - Throws: `CaptureError` for an unknown selection or a selected layer that did not run;
    ///   any error from `body`.
    public final func inspectGradients<Result>(layers: [LayerSelector]? = nil, catalog: LayerCatalog? = nil,
                                               thresholds: GradientThresholds = GradientThresholds(),
                                               includeParameters: Bool = true,
                                               during body: () throws -> Result) throws -> GradientReport {
        let selection = try LayerSelection(layers ?? [.name("**")], in: catalog ?? LayerCatalog(moduleTreeOf: self))
        var visited: [(name: String, kind: String)] = []
        var statistics: [String: GradientStatistics] = [:]
        var gradientHandles: [GradientHookHandle] = []
        let taps = try LayerTaps(on: self, selection: selection) { visit in
            visited.append((visit.name, visit.module.typeName))
            if visit.tensor.requiresGrad {
                gradientHandles.append(visit.tensor.registerHook { gradient in
                    statistics[visit.name] = GradientStatistics(of: gradient)
                    return nil
                })
            }
            return nil
        }
        defer {
            taps.removeAll()
            for handle in gradientHandles { handle.remove() }
        }
        _ = try body()
        // Inspecting everything includes modules that never run as modules (attention's
        // functional `out_proj`): only an explicit selection must be produced.
        if layers != nil { try taps.checkEverythingProduced() }

        func entry(_ name: String, _ kind: String, _ figures: GradientStatistics) -> GradientReport.Entry {
            GradientReport.Entry(name: name, kind: kind, statistics: figures,
                                 isVanishing: thresholds.isVanishing(figures), isExploding: thresholds.isExploding(figures))
        }
        var layerEntries: [GradientReport.Entry] = [], withoutGradient: [String] = []
        for (name, kind) in visited {
            if let figures = statistics[name] { layerEntries.append(entry(name, kind, figures)) } else { withoutGradient.append(name) }
        }
        let parameterEntries = includeParameters
            ? namedParameters().compactMap { name, parameter in parameter.grad.map { entry(name, "Parameter", GradientStatistics(of: $0)) } }
            : []
        return GradientReport(layers: layerEntries, layersWithoutGradient: withoutGradient, parameters: parameterEntries,
                              thresholds: thresholds)
    }
}
