import HTTP
import Models
import NN
import Tensors

/// What a feature request will capture, decided before it is queued: the layer catalog for its
/// input shapes (traced at batch 1 the first time a shape is seen), the resolved layer request
/// (unknown names are 404s with suggestions), and the shape each answered tensor will have at the
/// request's batch size — what the response size check runs on.
struct FeaturePlan {
    var catalog: LayerCatalog
    var request: ResolvedLayers
    /// Each answered name with its predicted shape; nil where the catalog does not say (`:input`
    /// captures), which is then checked after the forward pass.
    var shapes: [(name: String, shape: [Int]?)]

    /// Resolves `selectors` for `inputs` on `model`.
    static func make(model: ServedModel, inputs: PreparedInputs, selectors: [LayerSelector], pool: WorkerPool,
                     deadline: RequestDeadline, disconnection: ClientDisconnection?) async throws -> FeaturePlan {
        let catalog = try await catalog(for: model, inputs: inputs.tensors, pool: pool, deadline: deadline, disconnection: disconnection)
        let request = try model.model.resolveLayers(selectors, in: catalog)
        return FeaturePlan(catalog: catalog, request: request, shapes: shapes(of: request, in: catalog, rows: inputs.rows))
    }

    /// Each name `request` answers with (aliases included) and its shape at batch `rows`.
    static func shapes(of request: ResolvedLayers, in catalog: LayerCatalog, rows: Int) -> [(name: String, shape: [Int]?)] {
        var shapes: [(name: String, shape: [Int]?)] = []
        let answer = Set(request.selection.names).subtracting(request.droppedNames)
        for name in request.selection.names where answer.contains(name) {
            shapes.append((name, shape(of: name, in: catalog, rows: rows)))
        }
        for (alias, target) in request.aliases {
            shapes.append((alias, shape(of: target, in: catalog, rows: rows)))
        }
        return shapes
    }

    /// The catalog for inputs shaped like `inputs`, traced on a worker when it is a new shape.
    static func catalog(for model: ServedModel, inputs: [String: Tensor], pool: WorkerPool, deadline: RequestDeadline,
                        disconnection: ClientDisconnection?) async throws -> LayerCatalog {
        let signature = ServedModel.signature(of: inputs)
        if let catalog = model.cachedCatalog(signature: signature) { return catalog }
        let traceInputs = ServedModel.traceInputs(like: inputs)
        let catalog = try await pool.run(model: model, deadline: deadline.instant, timeoutMilliseconds: deadline.milliseconds,
                                         disconnection: disconnection) { context in
            try context.replica(for: model).traceLayers(inputs: traceInputs)
        }
        model.store(catalog, signature: signature)
        return catalog
    }

    /// The shape of `name` at batch `rows`, from a batch-1 catalog.
    static func shape(of name: String, in catalog: LayerCatalog, rows: Int) -> [Int]? {
        let traced: [Int]?
        if name == LayerSelector.outputName {
            traced = catalog.outputShape
        } else if name.hasSuffix(LayerSelector.inputSuffix) {
            traced = nil
        } else {
            traced = catalog.layer(named: name)?.outputShape
        }
        guard var shape = traced, !shape.isEmpty else { return traced }
        // Batch-leading layers scale in their first axis; anything else is bounded by rows × itself.
        shape[0] *= rows
        return shape
    }
}
