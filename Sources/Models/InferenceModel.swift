import NN
import ONNX
import Tensors

/// One replica of a `LoadedModel`: a module tree owned by one thread, in evaluation mode, whose
/// weights share storage with every other replica.
///
/// Not `Sendable` (a module tree belongs to one thread): build it with `LoadedModel.makeReplica()`
/// on the worker thread that uses it. Every call runs without autograd recording; captures
/// register hooks only for their duration, so the replica has no hooks between calls, and the
/// inference fast paths (folded BatchNorm, fused activations, packed attention) run whenever no
/// hook observes the modules they fuse.
public final class InferenceModel {
    /// What this replica runs.
    public let model: LoadedModel
    /// The module tree (PyTorch names; for inspection — call `forward`/`extractFeatures` to run it).
    public let module: Module

    /// Builds the module tree and loads the model's weights (storage shared, nothing copied).
    public init(model: LoadedModel) throws {
        self.model = model
        // The weights are about to be replaced: drawing random ones first would be waste.
        module = try Initializers.withoutRandomValues { try model.architecture.makeModule() }
        try module.loadStateDict(model.weights)
        module.eval()
        if model.precision != .float32 { module.setLinearPrecision(model.precision) }
        // Discover the whole tree now, so the first forward already takes the hook-free fast paths.
        _ = module.namedModules()
    }

    /// Runs the model on named inputs (`input`; or `input_ids`, `attention_mask`, `token_type_ids`)
    /// and returns its output (logits; BERT: last_hidden_state). Bad inputs throw `ModelError`
    /// naming the input.
    public func forward(inputs: [String: Tensor]) throws -> Tensor {
        try GradMode.withDisabled { try model.architecture.run(module, inputs: inputs) }
    }

    /// Runs the model and returns the requested layers (detached copies, `Sendable`), named as
    /// requested (aliases included). With `stopEarly`, layers after the last requested one do not run.
    public func extractFeatures(_ request: ResolvedLayers, inputs: [String: Tensor], stopEarly: Bool = true) throws -> CapturedFeatures {
        let features = try GradMode.withDisabled {
            try module.captureFeatures(request.selection, stopEarly: stopEarly) { try model.architecture.run(module, inputs: inputs) }
        }
        return request.aliases.isEmpty ? features : features.addingAliases(request.aliases, dropping: request.droppedNames)
    }

    /// Resolves `layers` (against a traced catalog when `catalog` is nil) and extracts them.
    public func extractFeatures(layers: [LayerSelector], inputs: [String: Tensor], catalog: LayerCatalog? = nil,
                                stopEarly: Bool = true) throws -> CapturedFeatures {
        let catalog = try catalog ?? traceLayers(inputs: inputs)
        return try extractFeatures(model.resolveLayers(layers, in: catalog), inputs: inputs, stopEarly: stopEarly)
    }

    /// The ordered layers of one forward pass on `inputs` (default: `model.defaultInputs()`): FX-style
    /// names, module types, output shapes, call counts, parameter counts.
    public func traceLayers(inputs: [String: Tensor]? = nil) throws -> LayerCatalog {
        let inputs = inputs ?? model.defaultInputs()
        let catalog = try GradMode.withDisabled {
            try module.traceLayers { try model.architecture.run(module, inputs: inputs) }
        }
        // A graph's module calls are recorded when they end: list them where they start.
        return (module as? ONNXGraphModule)?.executionOrdered(catalog) ?? catalog
    }
}
