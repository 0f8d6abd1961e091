// Children and parameters added by name rather than declared as stored properties: for module
// trees whose shape is only known at run time (an imported ONNX graph), like PyTorch's
// `add_module` and `register_parameter`.

extension Module {
    /// Adds `module` as a child under `name` (PyTorch's `add_module`). Only before the tree is
    /// discovered (in `init`); `name` must be non-empty, contain no dot, and be unique.
    public final func addModule(_ name: String, _ module: Module) {
        precondition(discoveredSlots == nil, "\(typeName): addModule('\(name)') after the tree was discovered")
        precondition(containerChildren == nil, "\(typeName): containers register children with their own API")
        precondition(!name.isEmpty && !name.contains("."), "\(typeName): invalid child name '\(name)'")
        registeredChildren.append((name, module))
    }

    /// Adds `parameter` under `name` (PyTorch's `register_parameter`), before the tree is
    /// discovered. Unlike a child's name, a parameter's may contain dots: its state-dict key is
    /// `prefix + name`, so an imported graph can keep the exporter's tensor names as keys.
    public final func registerParameter(_ name: String, _ parameter: Parameter) {
        precondition(discoveredSlots == nil, "\(typeName): registerParameter('\(name)') after the tree was discovered")
        precondition(!name.isEmpty, "\(typeName): empty parameter name")
        registeredParameters.append((name, parameter))
    }
}
