extension LayerSelection {
    /// The capture name of the one layer call `name` selects — `output`, an exact layer name, or a
    /// module path (its first call), optionally with `:input` — or nil when `name` is a glob or
    /// selects every call of a module. Unknown names throw `CaptureError` like any selection.
    ///
    /// Attribution uses it for a target layer and for an input's stand-in layer, which must each be
    /// one tensor.
    public static func singleLayerName(_ name: String, in catalog: LayerCatalog) throws -> String? {
        guard !isGlob(name) else { return nil }
        let selection = try LayerSelection([.name(name)], in: catalog)
        if selection.includesOutput { return LayerSelector.outputName }
        guard selection.targets.count == 1, let target = selection.targets.first, let call = target.call else { return nil }
        return target.name(call: call)
    }
}
