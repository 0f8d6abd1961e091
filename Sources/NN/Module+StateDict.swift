import Tensors

// State dicts, dtype moves and replicas.

/// The keys a non-strict `loadStateDict` could not match.
public struct StateDictLoadResult: Sendable, Equatable {
    /// Keys of the model that the state dict lacks (left unchanged).
    public var missingKeys: [String]
    /// Keys of the state dict that the model does not have (ignored).
    public var unexpectedKeys: [String]

    public init(missingKeys: [String], unexpectedKeys: [String]) {
        self.missingKeys = missingKeys
        self.unexpectedKeys = unexpectedKeys
    }
}

extension Module {
    /// One slot of the state dict: a parameter or a persistent buffer, under its dotted key.
    private enum Slot {
        case parameter(Parameter)
        case buffer(Buffer)

        var tensor: Tensor {
            switch self {
            case .parameter(let parameter): parameter.value
            case .buffer(let buffer): buffer.value
            }
        }

        func assign(_ tensor: Tensor) {
            switch self {
            case .parameter(let parameter): parameter.value = tensor
            case .buffer(let buffer): buffer.value = tensor
            }
        }
    }

    /// Every state-dict slot in PyTorch's order: per module (pre-order, following every path
    /// like `state_dict()` does), its parameters, then its persistent buffers, then its children.
    private func stateDictSlots() -> [(key: String, slot: Slot)] {
        var result: [(key: String, slot: Slot)] = []
        func visit(_ module: Module, _ prefix: String) {
            for (name, parameter) in module.slots.parameters { result.append((prefix + name, .parameter(parameter))) }
            for (name, buffer) in module.slots.buffers where buffer.isPersistent { result.append((prefix + name, .buffer(buffer))) }
            for (name, child) in module.childEntries { visit(child, prefix + name + ".") }
        }
        visit(self, "")
        return result
    }

    /// Parameters and persistent buffers under PyTorch's keys and order (`state_dict()`).
    /// The tensors are detached and share storage with the module (copy-on-write).
    public final func stateDict() -> StateDict {
        StateDict(stateDictSlots().map { ($0.key, $0.slot.tensor.detached()) })
    }

    /// Copies `stateDict` into this tree's parameters and buffers (`load_state_dict`).
    ///
    /// Every check runs before anything is written, so a failed load leaves the model unchanged.
    /// Strict loading throws `StateDictError.keyMismatch` listing missing and unexpected keys;
    /// non-strict loading loads the matching keys and returns the others. A shape mismatch always
    /// throws, naming the key and both shapes. Values are converted to each slot's current dtype
    /// (float16/bfloat16 weights load into float32 parameters); when the dtype already matches,
    /// the tensor's storage is shared, not copied.
    @discardableResult
    public final func loadStateDict(_ stateDict: StateDict, strict: Bool = true) throws -> StateDictLoadResult {
        let slots = stateDictSlots()
        let expected = Set(slots.map(\.key))
        let missing = slots.map(\.key).filter { stateDict[$0] == nil }
        let unexpected = stateDict.keys.filter { !expected.contains($0) }
        if strict && (!missing.isEmpty || !unexpected.isEmpty) {
            throw StateDictError.keyMismatch(missing: missing, unexpected: unexpected)
        }
        var assignments: [(Slot, Tensor)] = []
        for (key, slot) in slots {
            guard let incoming = stateDict[key] else { continue }
            let current = slot.tensor
            guard incoming.shape == current.shape else {
                throw StateDictError.shapeMismatch(key: key, expected: current.shape, found: incoming.shape)
            }
            assignments.append((slot, incoming.dtype == current.dtype ? incoming : incoming.to(current.dtype)))
        }
        for (slot, tensor) in assignments { slot.assign(tensor.detached()) }
        return StateDictLoadResult(missingKeys: missing, unexpectedKeys: unexpected)
    }

    /// Converts every floating-point parameter and buffer to `dtype` (`module.to(dtype)`);
    /// integer buffers such as `num_batches_tracked` keep their dtype. Layers compute in float32
    /// and convert float16/bfloat16 weights on the fly, so a converted model still runs.
    @discardableResult
    public final func to(_ dtype: DType) -> Self {
        precondition(dtype.isFloatingPoint, "Module.to: only floating-point dtypes, got \(dtype)")
        for parameter in parameters() where parameter.value.dtype.isFloatingPoint && parameter.value.dtype != dtype {
            parameter.value = parameter.value.to(dtype)
        }
        for buffer in buffers() where buffer.value.dtype.isFloatingPoint && buffer.value.dtype != dtype {
            buffer.value = buffer.value.to(dtype)
        }
        return self
    }

    /// A replica of this module for another worker: `factory` builds the same architecture, and
    /// the replica loads this module's state dict, so its parameters and buffers share this
    /// module's storage (copy-on-write: writing to one replica's tensor copies it first).
    /// The training mode is copied too.
    ///
    /// Across threads, send `stateDict()` (it is `Sendable`) and call `loadStateDict` on the
    /// worker thread's freshly built tree instead.
    public final func makeReplica<Replica: Module>(using factory: () throws -> Replica) throws -> Replica {
        let replica = try factory()
        try replica.loadStateDict(stateDict())
        replica.train(isTraining)
        return replica
    }
}
