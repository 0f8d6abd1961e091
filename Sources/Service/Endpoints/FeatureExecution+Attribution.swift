import HTTP
import Models
import NN
import Tensors

// The path of an attribution request after its body is parsed: like features — catalog, checks
// before queueing, size bound, the worker pool's queue and deadlines — but one job per request,
// never batched, with autograd recording on inside it only.

extension FeatureExecution {
    /// Checks `request` against the model (unknown layers, a target that does not fit, Grad-CAM on
    /// a layer that is not [N, C, H, W]) before queueing, runs it on a worker and returns its maps
    /// converted to `dtype`, as a `FeatureOutcome` (one job, batch size 1).
    func runAttribution(model: ServedModel, inputs: PreparedInputs, request: Attribution, dtype: OutputDType,
                        deadline: RequestDeadline, disconnection: ClientDisconnection?, sizeBound: SizeBound) async throws -> FeatureOutcome {
        let catalog = try await FeaturePlan.catalog(for: model, inputs: inputs.tensors, pool: context.pool, deadline: deadline,
                                                    disconnection: disconnection)
        var checked: ResolvedAttribution
        do {
            checked = try model.model.resolveAttribution(request, in: catalog)
        } catch let error as CaptureError {
            throw Self.fieldError(error, request: request)
        }
        if request.method.isInputAttribution {
            checked.request.inputAttribution.copiesPerPass = try Self.copiesPerPass(request, catalog: catalog, rows: inputs.rows,
                                                                                    budget: context.configuration.attributionMemoryBytes)
        }
        let resolved = checked
        try checkSize(sizeBound(try Self.predictedShapes(request, model: model.model, inputs: inputs, catalog: catalog)))

        let tensors = inputs.tensors, rows = inputs.rows
        let postProcessing = FeaturePostProcessing(dtype: dtype)
        let submitted = ContinuousClock.now
        // A task, not a feature job: the pool never batches it. The pool runs jobs without recording;
        // `attribute` records for its own forward and backward pass and removes its hooks, also on error.
        let outcome = try await context.pool.run(model: model, deadline: deadline.instant, timeoutMilliseconds: deadline.milliseconds,
                                                 disconnection: disconnection) { worker in
            let started = ContinuousClock.now
            let maps = try worker.replica(for: model).attribute(resolved, inputs: tensors)
            let computed = ContinuousClock.now
            var features: [(name: String, tensor: Tensor)] = []
            for (name, tensor) in maps { features.append((name, try postProcessing.apply(tensor, layer: name))) }
            let computeSeconds = WorkerPool.seconds(from: started, to: computed)
            let outputSeconds = WorkerPool.seconds(from: computed, to: .now)
            model.statistics.recordExecution(rows: rows, inputSeconds: 0, inferSeconds: computeSeconds, outputSeconds: outputSeconds)
            return FeatureOutcome(features: features, queueSeconds: WorkerPool.seconds(from: submitted, to: started),
                                  computeSeconds: computeSeconds, outputSeconds: outputSeconds, batchSize: 1, batchRows: rows)
        }
        if deadline.hasPassed { throw ServiceError.deadlineExceeded(milliseconds: deadline.milliseconds) }
        try checkSize(sizeBound(outcome.features.map { ($0.name, $0.tensor.shape) }))
        return outcome
    }

    /// How many scaled or noisy copies of the input one pass may stack within `budget` bytes: a copy
    /// holds every layer's activation and its gradient (float32, from the batch-1 catalog, times the
    /// rows). One copy over the budget is a 413 that says what to lower.
    static func copiesPerPass(_ request: Attribution, catalog: LayerCatalog, rows: Int, budget: Int) throws -> Int {
        let elements = catalog.layers.reduce(0) { $0 + ($1.outputShape?.reduce(1, *) ?? 0) }
        let bytesPerCopy = Swift.max(1, elements * Swift.max(rows, 1) * MemoryLayout<Float>.size * 2)
        guard bytesPerCopy <= budget else {
            throw HTTPError(.contentTooLarge, "\(request.method.rawValue) needs about \(bytesPerCopy >> 20) MiB per evaluation for \(rows) input(s), "
                            + "above attribution_memory_bytes (\(budget >> 20) MiB); send fewer inputs or smaller images",
                            errorType: "attribution_too_large")
        }
        let copies = switch request.method {
        case .integratedGradients: request.inputAttribution.steps
        case .smoothGrad: request.inputAttribution.samples
        default: 1
        }
        return Swift.max(1, Swift.min(copies, budget / bytesPerCopy))
    }

    /// An unknown layer, as `DomainErrorMapping` answers it (404 with the closest names), naming
    /// the field it came from: the target's layer or `layers`.
    private static func fieldError(_ error: CaptureError, request: Attribution) -> any Error {
        guard let mapped = DomainErrorMapping.httpError(for: error) else { return error }
        var field = "layers"
        if case .unknownLayer(let name, _) = error, case .layerNorm = request.target, !request.layers.contains(.name(name)) {
            field = "target.layer"
        }
        return HTTPError(mapped.status, "\(field): \(mapped.message)", errorType: mapped.errorType)
    }

    /// The maps' shapes as far as the catalog predicts them (exact shapes are checked after the
    /// job): saliency — each floating-point input (or an integer input's stand-in layer) and each
    /// layer; Grad-CAM — one channel per layer, at the image input's size; attention rollout — one
    /// channel at the image's size, or one value per token.
    private static func predictedShapes(_ request: Attribution, model: LoadedModel, inputs: PreparedInputs,
                                        catalog: LayerCatalog) throws -> [(name: String, shape: [Int])] {
        let layers = request.layers.isEmpty
            ? [] : FeaturePlan.shapes(of: try model.resolveLayers(request.layers, in: catalog), in: catalog, rows: inputs.rows)
        var shapes: [(name: String, shape: [Int])] = []
        switch request.method {
        case .saliency:
            let standIns = model.architecture.attributionInputLayers
            for (name, tensor) in inputs.tensors.sorted(by: { $0.key < $1.key }) {
                let key = Attribution.inputGradientKey(input: name, only: false)
                if tensor.dtype.isFloatingPoint {
                    shapes.append((key, tensor.shape))
                } else if let layer = standIns[name], let shape = FeaturePlan.shape(of: layer, in: catalog, rows: inputs.rows) {
                    shapes.append((key, shape))
                }
            }
            for (name, shape) in layers {
                if let shape { shapes.append((Attribution.gradientKey(layer: name), shape)) }
            }
        case .inputXGradient, .integratedGradients, .smoothGrad:
            // Floating-point inputs, and token inputs at their stand-in layer (with the per-token sums).
            let standIns = model.architecture.attributionInputLayers
            for (name, tensor) in inputs.tensors.sorted(by: { $0.key < $1.key }) {
                let key = Attribution.inputAttributionKey(request.method, input: name, only: false)
                if tensor.dtype.isFloatingPoint {
                    shapes.append((key, tensor.shape))
                } else if let layer = standIns[name], let shape = FeaturePlan.shape(of: layer, in: catalog, rows: inputs.rows) {
                    shapes.append((key, shape))
                    if request.method != .smoothGrad { shapes.append((Attribution.tokenAttributionKey(key), Array(shape.dropLast()))) }
                }
            }
        case .gradcam, .gradCAMPlusPlus, .layerCAM:
            let image = inputs.tensors.values.first { $0.rank == 4 && $0.dtype.isFloatingPoint }?.shape
            for (name, shape) in layers {
                guard let shape, let image, shape.count == 4 || shape.count == 3 else { continue }
                shapes.append((Attribution.classActivationMapKey(request.method, layer: name), [shape[0], 1, image[2], image[3]]))
            }
        case .attentionRollout:
            // One map: the image's size for vision transformers, one value per token for text.
            if let image = inputs.tensors.values.first(where: { $0.rank == 4 && $0.dtype.isFloatingPoint })?.shape {
                shapes.append((Attribution.attentionRolloutKey, [image[0], 1, image[2], image[3]]))
            } else if let ids = inputs.tensors["input_ids"], ids.rank == 2 {
                shapes.append((Attribution.attentionRolloutKey, ids.shape))
            }
        }
        return shapes
    }
}
