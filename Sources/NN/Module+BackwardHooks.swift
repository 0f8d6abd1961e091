import Tensors

// Module backward hooks (PyTorch's `register_full_backward_hook` and
// `register_full_backward_pre_hook`), built on the autograd graph:
//
// - when a module with backward hooks is called while recording, its inputs (after the forward
//   pre-hooks) go through one joint identity node, and its primary output (after the forward
//   hooks) through one identity node;
// - in the backward pass the output's node runs first: it hands ∂L/∂output (`gradOutput`) to the
//   backward pre-hooks, which may replace it, and keeps it for the full hooks;
// - the joint input node runs once the gradients of all the inputs are complete: the full hooks
//   see `gradInput` and `gradOutput` and may replace `gradInput`, which is what flows on.
// A hook runs only if it is still registered when the backward pass reaches the module: removing
// a handle also cancels it for graphs recorded earlier.

/// A full backward hook: sees the module, the gradients with respect to its inputs (nil where an
/// input does not require grad) and to its output, after the output's gradient is complete.
/// Returning an array (same count as `gradInput`) replaces the gradients passed on; nil keeps them.
public typealias FullBackwardHook = (_ module: Module, _ gradInput: [Tensor?], _ gradOutput: [Tensor?]) throws -> [Tensor?]?

/// A backward pre-hook: sees the gradient with respect to the module's output before the module's
/// own backward runs; returning an array (one element) replaces it, nil keeps it.
public typealias FullBackwardPreHook = (_ module: Module, _ gradOutput: [Tensor?]) throws -> [Tensor?]?

extension Module {
    // MARK: - Registration

    /// Registers a full backward hook (`register_full_backward_hook`). It runs during backward
    /// passes through calls of this module made while it is registered and while recording.
    /// `prepend` runs it before the hooks already registered.
    @discardableResult
    public final func registerFullBackwardHook(prepend: Bool = false, _ hook: @escaping FullBackwardHook) -> HookHandle {
        let entry = HookTable.BackwardHookEntry(id: HookTable.makeIdentifier(), body: hook)
        let table = ensureHookTable()
        if prepend { table.backwardHooks.insert(entry, at: 0) } else { table.backwardHooks.append(entry) }
        return makeHandle(id: entry.id)
    }

    /// Registers a backward pre-hook (`register_full_backward_pre_hook`): it sees, and may replace,
    /// the gradient of this module's output before it flows into the module.
    @discardableResult
    public final func registerFullBackwardPreHook(prepend: Bool = false, _ hook: @escaping FullBackwardPreHook) -> HookHandle {
        let entry = HookTable.BackwardPreHookEntry(id: HookTable.makeIdentifier(), body: hook)
        let table = ensureHookTable()
        if prepend { table.backwardPreHooks.insert(entry, at: 0) } else { table.backwardPreHooks.append(entry) }
        return makeHandle(id: entry.id)
    }
}

/// The backward-hook state of one module call: which hooks it attached and the output's gradient
/// once the backward pass has produced it. Owned by the graph nodes it creates.
final class ModuleBackwardCall {
    private weak var module: Module?
    private let hooks: [HookTable.BackwardHookEntry]
    private let preHooks: [HookTable.BackwardPreHookEntry]
    private let inputCount: Int
    private let inputsTracked: Bool
    /// ∂L/∂output after the pre-hooks; set when the output's node runs.
    private var gradOutput: [Tensor?]?

    private init(module: Module, table: HookTable, inputCount: Int, inputsTracked: Bool) {
        self.module = module
        self.hooks = table.backwardHooks
        self.preHooks = table.backwardPreHooks
        self.inputCount = inputCount
        self.inputsTracked = inputsTracked
    }

    /// Starts a call: nil when the module has no backward hooks or nothing is recorded;
    /// otherwise routes `inputs` through the joint node that will run the full hooks.
    static func begin(module: Module, inputs: inout [Tensor]) -> ModuleBackwardCall? {
        guard let table = module.hookTable, table.hasBackwardHooks, GradMode.isEnabled else { return nil }
        let call = ModuleBackwardCall(module: module, table: table, inputCount: inputs.count,
                                      inputsTracked: Tensor.shouldRecord(inputs))
        if call.inputsTracked {
            inputs = Tensor.jointIdentity(inputs, operation: "\(module.typeName).backward_hook_inputs") { [call] gradInput in
                try call.runFullHooks(gradInput: gradInput)
            }
        }
        return call
    }

    /// Routes the output through the node that runs the pre-hooks; nil when it is not tracked.
    func attach(to output: Tensor) -> Tensor? {
        guard output.requiresGrad, let module else { return nil }
        return output.recordingGradient("\(module.typeName).backward_hook_output", inputs: [output]) { [self] gradient in
            try [receiveGradOutput(gradient)]
        }
    }

    /// The output's gradient arrives: pre-hooks may replace it; without tracked inputs the full
    /// hooks run now (with `gradInput` all nil, as PyTorch does).
    private func receiveGradOutput(_ gradient: Tensor) throws -> Tensor? {
        guard let module else { return gradient }
        var gradOutput: [Tensor?] = [gradient]
        for hook in preHooks where isRegistered(hook.id, on: module) {
            if let replacement = try hook.body(module, gradOutput) {
                precondition(replacement.count == 1,
                             "\(module.typeName): a backward pre-hook returned \(replacement.count) gradients for 1 output")
                gradOutput = replacement
            }
        }
        self.gradOutput = gradOutput
        if !inputsTracked {
            _ = try runFullHooks(gradInput: [Tensor?](repeating: nil, count: inputCount))
        }
        return gradOutput[0]
    }

    /// Runs the full hooks in order, each seeing the previous one's replacement.
    private func runFullHooks(gradInput: [Tensor?]) throws -> [Tensor?] {
        guard let module else { return gradInput }
        var gradInput = gradInput
        for hook in hooks where isRegistered(hook.id, on: module) {
            if let replacement = try hook.body(module, gradInput, gradOutput ?? [nil]) {
                precondition(replacement.count == gradInput.count,
                             "\(module.typeName): a backward hook returned \(replacement.count) gradients for \(gradInput.count) inputs")
                gradInput = replacement
            }
        }
        return gradInput
    }

    private func isRegistered(_ id: Int, on module: Module) -> Bool {
        module.hookTable?.contains(id: id) ?? false
    }
}
