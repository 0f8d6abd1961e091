import Tensors

/// The base class of every layer and model: PyTorch's `nn.Module` contract in Swift.
///
/// A module's children, parameters and buffers are its stored properties of type `Module`,
/// `Parameter` or `Buffer` (or optionals of them), found by `Mirror` in declaration order,
/// superclass properties first. Nothing else is recognised: arrays and dictionaries of modules
/// must use `ModuleList` / `ModuleDict` (an array, dictionary or tuple of modules in a property
/// is a programmer error caught at discovery); modules inside structs, closures or `lazy`
/// properties are not part of the tree. An optional child that is `nil` is absent from the tree, exactly like
/// PyTorch's `self.downsample = None`; use `Identity()` where PyTorch uses `nn.Identity()`.
///
/// **Discovery happens once.** The tree is read the first time it is needed — the first tree
/// query (`namedModules()`, `stateDict()`, `loadStateDict`, hook registration, capture) or the
/// first call, whichever comes first, and always before the first forward body runs — and is
/// then fixed. A module created inside `forward` (even if stored in a property) is therefore never
/// part of the tree: it has no state-dict keys and cannot be hooked. Declare children as `let`
/// properties set in `init`. (`rediscoverTree()` exists for the rare deliberate head swap.)
///
/// State-dict keys are the property names in snake_case (`runningMean` → `running_mean`);
/// override `keyOverrides` where PyTorch's names differ (BERT's `LayerNorm`, torchvision's `ln_1`).
///
/// Modules are not `Sendable`: a module tree belongs to one thread at a time. The service gives
/// each worker its own replica (`makeReplica(using:)`), and replicas share weight storage.
open class Module: CustomStringConvertible {
    // MARK: - State

    /// Training or evaluation mode; set for the whole tree by `train(_:)` / `eval()`.
    public internal(set) var isTraining = true

    /// False only when the tree is discovered and this module has no hooks: the call fast path.
    /// Global hooks are checked separately (`GlobalModuleHooks.isActive`).
    @usableFromInline final var requiresHookDispatch = true

    /// This module's hooks; nil when it has none.
    final var hookTable: HookTable?

    /// The discovered tree slots; nil until the first discovery.
    final var discoveredSlots: ModuleSlots?

    /// Children registered explicitly by containers (`Sequential`, `ModuleList`, `ModuleDict`);
    /// nil for ordinary modules, whose children come from their stored properties.
    final var containerChildren: [(name: String, module: Module)]?

    /// Children and parameters added by `addModule` / `registerParameter` (after the stored
    /// properties' in discovery order); empty for modules that declare everything as properties.
    final var registeredChildren: [(name: String, module: Module)] = []
    final var registeredParameters: [(name: String, parameter: Parameter)] = []

    public init() {}

    // MARK: - Customization points

    /// PyTorch keys for properties whose snake_case name differs from PyTorch's
    /// (Swift property name → key), e.g. `["layerNorm": "LayerNorm"]` for Hugging Face BERT.
    open var keyOverrides: [String: String] { [:] }

    /// The name printed in `description` (PyTorch's class name); the Swift class name by default.
    open var typeName: String {
        let name = String(describing: type(of: self))
        return name.firstIndex(of: "<").map { String(name[..<$0]) } ?? name
    }

    /// The text inside the parentheses of this module's description (PyTorch's `extra_repr`).
    open var extraDescription: String { "" }

    /// Re-initializes this module's own parameters and buffers (not its children's) with
    /// PyTorch's defaults, drawing from the current random generator (`withRandomSeed`).
    /// Layers call it at the end of `init`; it can be called again at any time.
    open func resetParameters() {}

    // MARK: - Discovery

    /// The tree slots, discovering them on first use.
    final var slots: ModuleSlots {
        if let discoveredSlots { return discoveredSlots }
        let slots = ModuleSlots.discover(in: self)
        discoveredSlots = slots
        updateHookDispatchFlag()
        return slots
    }

    /// Forgets the discovered tree so that the next query reads the stored properties again.
    /// Only for deliberate structural edits after construction (replacing a `var` head);
    /// the children's own trees are not rediscovered.
    public final func rediscoverTree() {
        discoveredSlots = nil
        requiresHookDispatch = true
    }

    final func updateHookDispatchFlag() {
        requiresHookDispatch = discoveredSlots == nil || hookTable != nil
    }

    /// The direct children with their keys, in declaration (or insertion) order.
    final var childEntries: [(name: String, module: Module)] {
        containerChildren ?? slots.children
    }

    // MARK: - Tree queries (PyTorch names and order)

    /// Direct children with their keys (`named_children()`), each module once.
    public final func namedChildren() -> [(name: String, module: Module)] {
        var seen = Set<ObjectIdentifier>()
        return childEntries.filter { seen.insert(ObjectIdentifier($0.module)).inserted }
    }

    /// Direct children (`children()`).
    public final func children() -> [Module] { namedChildren().map(\.module) }

    /// This module and every descendant, pre-order, with dotted paths; the root is `""`.
    /// A module reachable by two paths appears once, under the first (`named_modules()`).
    public final func namedModules() -> [(name: String, module: Module)] {
        var result: [(name: String, module: Module)] = []
        var seen = Set<ObjectIdentifier>()
        func visit(_ module: Module, _ path: String) {
            guard seen.insert(ObjectIdentifier(module)).inserted else { return }
            result.append((path, module))
            for (name, child) in module.childEntries {
                visit(child, path.isEmpty ? name : path + "." + name)
            }
        }
        visit(self, "")
        return result
    }

    /// This module and every descendant, pre-order (`modules()`).
    public final func modules() -> [Module] { namedModules().map(\.module) }

    /// Every parameter with its dotted key, module by module in pre-order, each parameter once
    /// (`named_parameters()`).
    public final func namedParameters() -> [(name: String, parameter: Parameter)] {
        var result: [(name: String, parameter: Parameter)] = []
        var seen = Set<ObjectIdentifier>()
        for (path, module) in namedModules() {
            for (name, parameter) in module.slots.parameters where seen.insert(ObjectIdentifier(parameter)).inserted {
                result.append((path.isEmpty ? name : path + "." + name, parameter))
            }
        }
        return result
    }

    /// Every parameter (`parameters()`).
    public final func parameters() -> [Parameter] { namedParameters().map(\.parameter) }

    /// Every buffer with its dotted key, persistent or not, each buffer once (`named_buffers()`).
    public final func namedBuffers() -> [(name: String, buffer: Buffer)] {
        var result: [(name: String, buffer: Buffer)] = []
        var seen = Set<ObjectIdentifier>()
        for (path, module) in namedModules() {
            for (name, buffer) in module.slots.buffers where seen.insert(ObjectIdentifier(buffer)).inserted {
                result.append((path.isEmpty ? name : path + "." + name, buffer))
            }
        }
        return result
    }

    /// Every buffer (`buffers()`).
    public final func buffers() -> [Buffer] { namedBuffers().map(\.buffer) }

    /// This module's own parameters (not its children's), with their local keys.
    public final var ownParameters: [(name: String, parameter: Parameter)] { slots.parameters }

    /// This module's own buffers (not its children's), with their local keys.
    public final var ownBuffers: [(name: String, buffer: Buffer)] { slots.buffers }

    /// The descendant at a dotted `path` (`""` is this module), or nil (`get_submodule`).
    public final func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let next = current.childEntries.first(where: { $0.name == segment })?.module else { return nil }
            current = next
        }
        return current
    }

    /// Total number of parameter elements in this subtree, each parameter counted once.
    public final var parameterCount: Int {
        parameters().reduce(0) { $0 + $1.value.count }
    }

    // MARK: - Modes

    /// Sets training mode on this module and every descendant (`train(mode)`): dropout drops,
    /// batch norm uses batch statistics and updates its running statistics.
    @discardableResult
    public final func train(_ mode: Bool = true) -> Self {
        for module in modules() { module.isTraining = mode }
        return self
    }

    /// Evaluation mode for the whole tree (`eval()`).
    @discardableResult
    public final func eval() -> Self { train(false) }

    /// Sets `requiresGrad` on every parameter (`requires_grad_()`).
    @discardableResult
    public final func requiresGrad(_ flag: Bool) -> Self {
        for parameter in parameters() { parameter.requiresGrad = flag }
        return self
    }

    /// Re-initializes every module's parameters, children before their parent — the order in
    /// which construction runs them when each `init` ends with `resetParameters()`, so the same
    /// seed reproduces a freshly built model.
    public final func resetParametersRecursively() {
        var seen = Set<ObjectIdentifier>()
        func visit(_ module: Module) {
            guard seen.insert(ObjectIdentifier(module)).inserted else { return }
            for (_, child) in module.childEntries { visit(child) }
            module.resetParameters()
        }
        visit(self)
    }

    // MARK: - Description (PyTorch's repr)

    /// The module tree printed like PyTorch's `repr(model)`.
    open var description: String {
        let extraLines = extraDescription.isEmpty ? [] : extraDescription.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let childLines = childEntries.map { "(\($0.name)): " + Module.indented($0.module.description) }
        return Module.formatDescription(typeName: typeName, extraLines: extraLines, childLines: childLines)
    }

    /// PyTorch's `__repr__` layout: one line when there is a single extra line and no children.
    static func formatDescription(typeName: String, extraLines: [String], childLines: [String]) -> String {
        let lines = extraLines + childLines
        var text = typeName + "("
        if !lines.isEmpty {
            if extraLines.count == 1 && childLines.isEmpty {
                text += extraLines[0]
            } else {
                text += "\n  " + lines.joined(separator: "\n  ") + "\n"
            }
        }
        return text + ")"
    }

    /// PyTorch's `_addindent(text, 2)`: every line but the first indented by two spaces.
    static func indented(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return text }
        return ([String(lines[0])] + lines.dropFirst().map { "  " + $0 }).joined(separator: "\n")
    }
}
