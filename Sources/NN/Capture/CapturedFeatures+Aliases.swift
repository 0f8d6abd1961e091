import Tensors

extension CapturedFeatures {
    /// A copy in which each `(alias, name)` pair also lists the tensor captured as `name` under
    /// `alias` (right after it), and the names in `dropping` are left out — for models whose layers
    /// answer to extra names (BERT's `last_hidden_state` is its `output`), where a layer captured
    /// only to serve an alias should not appear under its own name.
    public func addingAliases(_ aliases: [(alias: String, name: String)], dropping: Set<String> = []) -> CapturedFeatures {
        var result = CapturedFeatures()
        for (name, tensor) in entries {
            if !dropping.contains(name) { result.record(name, tensor) }
            for (alias, target) in aliases where target == name { result.record(alias, tensor) }
        }
        return result
    }
}
