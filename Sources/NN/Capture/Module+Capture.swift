import Tensors

// Scoped capture: the service's core. Hooks exist only for the requested layers and only
// while the forward pass runs; every captured tensor is a detached copy.

extension Module {
    /// Runs `body` (a forward pass of this model) and returns the requested layers' outputs.
    ///
    /// Forward hooks (pre-hooks for `:input` targets) are registered on exactly the selected
    /// modules of *this* tree and removed when the capture ends — normally, by early stop, or by
    /// an error thrown from `body` — so the tree has no capture hooks afterwards. Hook state lives
    /// in this call, so concurrent captures on different replicas never see each other's results.
    ///
    /// Each capture is `tensor.detachedCopy()`: no autograd graph is kept alive and no later
    /// in-place op or buffer reuse can change it. A module called k > 1 times yields `name`,
    /// `name_1`, … (torchvision FX naming).
    ///
    /// With `stopEarly` (the default), when the selection names exact calls and not `output`,
    /// the forward pass is stopped as soon as the last of them is captured: later layers do not
    /// run, and `body`'s result is discarded.
    ///
    /// - Throws: `CaptureError.unknownLayer` (before running) if a target's module is not in this
    ///   tree; `CaptureError.layersNotProduced` if the pass ended without some target; any error
    ///   from `body`.
    public final func captureFeatures<Result>(_ selection: LayerSelection, stopEarly: Bool = true,
                                              during body: () throws -> Result) throws -> CapturedFeatures {
        // Resolve every module before registering anything: an unknown path fails before running.
        var modulesByPath: [String: Module] = [:]
        for target in selection.targets where modulesByPath[target.modulePath] == nil {
            guard let module = module(at: target.modulePath), !target.modulePath.isEmpty else {
                let catalog = LayerCatalog(moduleTreeOf: self)
                throw CaptureError.unknownLayer(target.modulePath, closest: LayerSelection.closestNames(to: target.modulePath, in: catalog))
            }
            modulesByPath[target.modulePath] = module
        }

        let session = CaptureSession(selection: selection, stopEarly: stopEarly && selection.allowsEarlyStop)
        var handles: [HookHandle] = []
        defer { for handle in handles { handle.remove() } }

        for (path, module) in modulesByPath {
            let outputs = selection.targets.filter { $0.modulePath == path && $0.point == .output }
            let inputs = selection.targets.filter { $0.modulePath == path && $0.point == .input }
            if !inputs.isEmpty {
                handles.append(module.registerForwardPreHook { _, arguments in
                    try session.observe(path: path, point: .input, targets: inputs, tensor: arguments[0])
                    return nil
                })
            }
            if !outputs.isEmpty {
                handles.append(module.registerForwardHook { _, _, output in
                    try session.observe(path: path, point: .output, targets: outputs, tensor: output)
                    return nil
                })
            }
        }
        if selection.includesOutput {
            handles.append(registerForwardHook { _, _, output in
                session.features.record(LayerSelector.outputName, output.detachedCopy())
                return nil
            })
        }

        do {
            _ = try body()
        } catch let stop as CaptureSession.Stop where stop.session == ObjectIdentifier(session) {
            // Early stop: every requested layer is captured.
        }

        let missing = session.missingNames()
        guard missing.isEmpty else { throw CaptureError.layersNotProduced(missing) }
        return session.features
    }

    /// Resolves `layers` against `catalog` (or, without one, against this module tree — then
    /// indices count in module pre-order, and globs capture every call of the matched modules)
    /// and captures them during `body`. See `captureFeatures(_:stopEarly:during:)`.
    public final func captureFeatures<Result>(layers: [LayerSelector], catalog: LayerCatalog? = nil, stopEarly: Bool = true,
                                              during body: () throws -> Result) throws -> CapturedFeatures {
        let selection = try LayerSelection(layers, in: catalog ?? LayerCatalog(moduleTreeOf: self))
        return try captureFeatures(selection, stopEarly: stopEarly, during: body)
    }
}

/// The state of one capture: call counters per module, what is still missing, the results.
/// Local to one `captureFeatures` call — never shared between captures.
final class CaptureSession {
    /// Thrown from a hook to stop the forward pass once everything is captured.
    struct Stop: Error {
        /// The session that threw (alive for the whole capture, so its identity is unique).
        let session: ObjectIdentifier
    }

    var features = CapturedFeatures()
    private var calls: [LayerSelection.Target: Int] = [:]  // keyed with call = nil
    private var pending: Set<LayerSelection.Target>
    private let everyCallTargets: [LayerSelection.Target]
    private let includesOutput: Bool
    private let stopEarly: Bool

    init(selection: LayerSelection, stopEarly: Bool) {
        pending = Set(selection.targets.filter { $0.call != nil })
        everyCallTargets = selection.targets.filter { $0.call == nil }
        includesOutput = selection.includesOutput
        self.stopEarly = stopEarly
    }

    /// One call of the module at `path` reached a hook for `point`.
    func observe(path: String, point: LayerSelection.Target.Point, targets: [LayerSelection.Target], tensor: Tensor) throws {
        let counter = LayerSelection.Target(modulePath: path, call: nil, point: point)
        let call = calls[counter, default: 0]
        calls[counter] = call + 1
        let exact = LayerSelection.Target(modulePath: path, call: call, point: point)
        if targets.contains(exact) || targets.contains(counter) {
            features.record(exact.name(call: call), tensor.detachedCopy())
            pending.remove(exact)
        }
        if stopEarly && pending.isEmpty { throw Stop(session: ObjectIdentifier(self)) }
    }

    /// Names requested but not captured.
    func missingNames() -> [String] {
        var missing = pending.sorted { $0.name(call: $0.call!) < $1.name(call: $1.call!) }.map { $0.name(call: $0.call!) }
        for target in everyCallTargets where calls[target, default: 0] == 0 {
            missing.append(target.name(call: 0))
        }
        if includesOutput && features[LayerSelector.outputName] == nil { missing.append(LayerSelector.outputName) }
        return missing
    }
}
