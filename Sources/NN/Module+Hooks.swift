import Tensors

// Hook registration and the one call path every module goes through.

extension Module {
    // MARK: - Registration

    /// Registers a forward pre-hook (`register_forward_pre_hook`); `prepend` runs it before the
    /// hooks already registered.
    @discardableResult
    public final func registerForwardPreHook(prepend: Bool = false, _ hook: @escaping ForwardPreHook) -> HookHandle {
        let entry = HookTable.PreHookEntry(id: HookTable.makeIdentifier(), body: hook)
        let table = ensureHookTable()
        if prepend { table.preHooks.insert(entry, at: 0) } else { table.preHooks.append(entry) }
        return makeHandle(id: entry.id)
    }

    /// Registers a forward hook (`register_forward_hook`); `prepend` runs it before the hooks
    /// already registered.
    @discardableResult
    public final func registerForwardHook(prepend: Bool = false, _ hook: @escaping ForwardHook) -> HookHandle {
        registerForwardHook(prepend: prepend, alwaysCall: false) { module, inputs, output in
            try hook(module, inputs, output.get())
        }
    }

    /// Registers a forward hook that receives the call's outcome. With `alwaysCall`, it also runs
    /// (with `.failure`) when the call throws (`register_forward_hook(..., always_call=True)`).
    @discardableResult
    public final func registerForwardHook(prepend: Bool = false, alwaysCall: Bool, _ hook: @escaping AlwaysCalledForwardHook) -> HookHandle {
        let entry = HookTable.ForwardHookEntry(id: HookTable.makeIdentifier(), alwaysCall: alwaysCall, body: hook)
        let table = ensureHookTable()
        if prepend { table.forwardHooks.insert(entry, at: 0) } else { table.forwardHooks.append(entry) }
        return makeHandle(id: entry.id)
    }

    /// Number of hooks registered on this module and all its descendants.
    public final var hookCount: Int {
        modules().reduce(0) { $0 + ($1.hookTable?.count ?? 0) }
    }

    final func ensureHookTable() -> HookTable {
        _ = slots  // discovery is fixed before any hook can run
        if let hookTable { return hookTable }
        let table = HookTable()
        hookTable = table
        updateHookDispatchFlag()
        return table
    }

    final func makeHandle(id: Int) -> HookHandle {
        HookHandle(id: id) { [weak self] in
            guard let self, let table = self.hookTable, table.remove(id: id) else { return }
            if table.count == 0 {
                self.hookTable = nil
                self.updateHookDispatchFlag()
            }
        }
    }

    // MARK: - Calling

    /// True when a call may go straight to `forward`: the tree is discovered and neither this
    /// module nor the process has hooks. Modules with their own `callAsFunction` check it first
    /// so that an unhooked call allocates nothing:
    ///
    ///     public func callAsFunction(_ x: Tensor, mask: Tensor?) throws -> Tensor {
    ///         if canSkipHooks { return try forward(x, mask: mask) }
    ///         return try callWithHooks(inputs: [x]) { try forward($0[0], mask: mask) }
    ///     }
    @inlinable
    public final var canSkipHooks: Bool {
        !requiresHookDispatch && !GlobalModuleHooks.isActive
    }

    /// Runs `forward` with this module's hooks (and the global ones): pre-hooks may replace the
    /// inputs, forward hooks see and may replace the output, `alwaysCall` hooks also run when
    /// the call throws.
    public final func callWithHooks(inputs: [Tensor], _ forward: ([Tensor]) throws -> Tensor) throws -> Tensor {
        try callWithHooks(inputs: inputs, primaryOutput: { $0 }, replacingPrimaryOutput: { _, replacement in replacement }, forward)
    }

    /// The general form for modules whose output is not a single tensor (e.g. attention's
    /// `(output, weights)`): hooks see `primaryOutput(output)`, and a replacement from a hook is put
    /// back with `replacingPrimaryOutput`.
    public final func callWithHooks<Output>(
        inputs: [Tensor],
        primaryOutput: (Output) -> Tensor,
        replacingPrimaryOutput: (Output, Tensor) -> Output,
        _ forward: ([Tensor]) throws -> Output
    ) throws -> Output {
        _ = slots  // first call: fix the tree before the forward body can change any property
        // Copies taken now: hooks removed or added while this call runs apply from the next call.
        let global = GlobalModuleHooks.isActive ? GlobalModuleHooks.snapshot() : nil
        let preHooks = hookTable?.preHooks ?? []
        var forwardHooks: [HookTable.ForwardHookEntry] = global?.forwardHooks.map {
            HookTable.ForwardHookEntry(id: $0.id, alwaysCall: $0.alwaysCall, body: $0.body)
        } ?? []
        forwardHooks += hookTable?.forwardHooks ?? []

        var inputs = inputs
        let output: Output
        var backwardCall: ModuleBackwardCall?
        do {
            for hook in global?.preHooks ?? [] {
                if let replaced = try hook.body(self, inputs) { inputs = checkedReplacement(replaced, for: inputs) }
            }
            for hook in preHooks {
                if let replaced = try hook.body(self, inputs) { inputs = checkedReplacement(replaced, for: inputs) }
            }
            // Backward hooks see the gradients of the inputs as forward receives them.
            backwardCall = ModuleBackwardCall.begin(module: self, inputs: &inputs)
            output = try forward(inputs)
        } catch {
            runAlwaysCalled(forwardHooks[...], inputs: inputs, error: error)
            throw error
        }
        if forwardHooks.isEmpty && backwardCall == nil { return output }

        var primary = primaryOutput(output)
        var replaced = false
        for index in forwardHooks.indices {
            do {
                if let replacement = try forwardHooks[index].body(self, inputs, .success(primary)) {
                    primary = replacement
                    replaced = true
                }
            } catch {
                runAlwaysCalled(forwardHooks[(index + 1)...], inputs: inputs, error: error)
                throw error
            }
        }
        // ...and the gradient of the output as the caller receives it (after forward hooks).
        if let backwardCall, let attached = backwardCall.attach(to: primary) {
            primary = attached
            replaced = true
        }
        return replaced ? replacingPrimaryOutput(output, primary) : output
    }

    private func checkedReplacement(_ replacement: [Tensor], for inputs: [Tensor]) -> [Tensor] {
        precondition(replacement.count == inputs.count,
                     "\(typeName): a forward pre-hook returned \(replacement.count) inputs for a call with \(inputs.count)")
        return replacement
    }

    /// The failure path: `alwaysCall` hooks see the error; their own errors and results are
    /// ignored so that the original error reaches the caller (PyTorch does the same).
    private func runAlwaysCalled(_ hooks: ArraySlice<HookTable.ForwardHookEntry>, inputs: [Tensor], error: any Error) {
        for hook in hooks where hook.alwaysCall {
            _ = try? hook.body(self, inputs, .failure(error))
        }
    }
}
