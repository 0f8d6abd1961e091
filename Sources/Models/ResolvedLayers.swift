import NN

/// A client's layer list resolved against one model (`LoadedModel.resolveLayers`): the layer
/// selection to capture, plus the aliases to report it under. What a worker runs with
/// `InferenceModel.extractFeatures(_:inputs:)`.
public struct ResolvedLayers: Sendable {
    /// What to capture, in the model's own layer names.
    public let selection: LayerSelection
    /// Requested aliases and the layer each stands for.
    public let aliases: [(alias: String, name: String)]
    /// Layers captured only to serve an alias (left out of the result under their own names).
    public let droppedNames: Set<String>

    public init(selection: LayerSelection, aliases: [(alias: String, name: String)] = [], droppedNames: Set<String> = []) {
        self.selection = selection
        self.aliases = aliases
        self.droppedNames = droppedNames
    }
}
