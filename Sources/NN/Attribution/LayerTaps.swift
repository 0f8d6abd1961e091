import Tensors

/// Forward hooks that hand the tensors of selected layer calls to a visitor *with their autograd
/// graph* (the forward capture stores detached copies; gradient features need the live tensors).
///
/// Registered for one forward pass and removed with `removeAll()` (callers do it in `defer`).
/// Names follow the capture: `path`, `path_1`, … for repeated calls, `path:input` for inputs,
/// `output` for the model's output. The visitor may return a replacement tensor (e.g. a fresh
/// leaf, so that gradients reach a layer even when nothing before it requires grad).
final class LayerTaps {
    /// One selected call reaching its hook.
    struct Visit {
        /// The capture name (`layer1.0.relu_1`, `fc:input`, `output`).
        var name: String
        /// The selection target it matched (nil for `output`).
        var target: LayerSelection.Target?
        var module: Module
        /// The call's output (or first input, for `:input` targets), with its graph.
        var tensor: Tensor
    }

    typealias Visitor = (Visit) throws -> Tensor?

    private let selection: LayerSelection
    private var handles: [HookHandle] = []
    private var calls: [LayerSelection.Target: Int] = [:]  // keyed with call = nil
    private var pending: Set<LayerSelection.Target>
    private var seenEveryCallTargets: Set<LayerSelection.Target> = []
    private var sawOutput = false

    /// Resolves the selection's modules in `root` (an unknown path throws before anything is
    /// registered) and registers the hooks.
    init(on root: Module, selection: LayerSelection, visit: @escaping Visitor) throws {
        self.selection = selection
        pending = Set(selection.targets.filter { $0.call != nil })
        var modulesByPath: [String: Module] = [:]
        for target in selection.targets where modulesByPath[target.modulePath] == nil {
            guard !target.modulePath.isEmpty, let module = root.module(at: target.modulePath) else {
                let catalog = LayerCatalog(moduleTreeOf: root)
                throw CaptureError.unknownLayer(target.modulePath, closest: LayerSelection.closestNames(to: target.modulePath, in: catalog))
            }
            modulesByPath[target.modulePath] = module
        }
        // Registered in request order, so hooks on one module run in the order names were asked.
        var registered: Set<String> = []
        for target in selection.targets where registered.insert(target.modulePath).inserted {
            let path = target.modulePath, module = modulesByPath[path]!
            let outputs = selection.targets.filter { $0.modulePath == path && $0.point == .output }
            let inputs = selection.targets.filter { $0.modulePath == path && $0.point == .input }
            if !inputs.isEmpty {
                handles.append(module.registerForwardPreHook { [weak self] module, arguments in
                    guard let self, let (name, target) = self.observe(path: path, point: .input, targets: inputs),
                          let replacement = try visit(Visit(name: name, target: target, module: module, tensor: arguments[0]))
                    else { return nil }
                    return [replacement] + arguments.dropFirst()
                })
            }
            if !outputs.isEmpty {
                handles.append(module.registerForwardHook { [weak self] module, _, output in
                    guard let self, let (name, target) = self.observe(path: path, point: .output, targets: outputs) else { return nil }
                    return try visit(Visit(name: name, target: target, module: module, tensor: output))
                })
            }
        }
        if selection.includesOutput {
            handles.append(root.registerForwardHook { [weak self] root, _, output in
                self?.sawOutput = true
                return try visit(Visit(name: LayerSelector.outputName, target: nil, module: root, tensor: output))
            })
        }
    }

    /// Unregisters every hook (idempotent).
    func removeAll() {
        for handle in handles { handle.remove() }
        handles = []
    }

    /// Counts one call of the module at `path`; returns its name and matched target if it is selected.
    private func observe(path: String, point: LayerSelection.Target.Point,
                         targets: [LayerSelection.Target]) -> (String, LayerSelection.Target)? {
        let counter = LayerSelection.Target(modulePath: path, call: nil, point: point)
        let call = calls[counter, default: 0]
        calls[counter] = call + 1
        let exact = LayerSelection.Target(modulePath: path, call: call, point: point)
        if targets.contains(counter) {
            seenEveryCallTargets.insert(counter)
            return (exact.name(call: call), counter)
        }
        guard targets.contains(exact) else { return nil }
        pending.remove(exact)
        return (exact.name(call: call), exact)
    }

    /// Throws `CaptureError.layersNotProduced` if a selected layer did not run.
    func checkEverythingProduced() throws {
        var missing = pending.map { $0.name(call: $0.call!) }.sorted()
        for target in selection.targets where target.call == nil && !seenEveryCallTargets.contains(target) {
            missing.append(target.name(call: 0))
        }
        if selection.includesOutput && !sawOutput { missing.append(LayerSelector.outputName) }
        guard missing.isEmpty else { throw CaptureError.layersNotProduced(missing) }
    }
}
