import NN

/// An attribution request checked against one model's layer catalog and rewritten in the model's
/// own layer names: what a worker runs with `InferenceModel.attribute(_:inputs:)`.
///
/// Built by `LoadedModel.resolveAttribution(_:in:)` before queueing (pure, `Sendable`), like
/// `ResolvedLayers` for features: unknown layers, a class out of range, Grad-CAM on a layer that is
/// not [N, C, H, W] are errors before any work is queued.
public struct ResolvedAttribution: Sendable {
    /// The request with aliases replaced by the layers they stand for (BERT's `last_hidden_state`
    /// → `output`, `pooler_output` → `pooler`), in layers and in a target layer.
    public var request: Attribution
    /// The catalog the layer names were resolved against (traced: exact call names).
    public let catalog: LayerCatalog
    /// Result keys reported under an alias: (`grad:<alias>`, `grad:<layer>`) and the `gradcam:` pair.
    public let keyAliases: [(alias: String, name: String)]
    /// Result keys of layers requested only through an alias (left out under their own names).
    public let droppedKeys: Set<String>

    public init(request: Attribution, catalog: LayerCatalog, keyAliases: [(alias: String, name: String)] = [],
                droppedKeys: Set<String> = []) {
        self.request = request
        self.catalog = catalog
        self.keyAliases = keyAliases
        self.droppedKeys = droppedKeys
    }
}
