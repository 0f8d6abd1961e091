import Tensors

// Attention hooks: the attention probabilities a self-attention layer computes inside its forward
// pass are not an output a forward hook can see (the fused kernels never even materialize them).
// A module that can report them conforms to `AttentionReporting`; while an attention hook is
// registered on it, it takes its unfused path — the same output — and hands the probabilities to
// the hook. `Module.captureAttention` collects every layer's for one forward pass (what attention
// rollout reads).

/// An attention hook: sees the module and the attention probabilities of one call — softmax over
/// the keys, per head, [N, heads, L, S] float32 (masked keys 0) — once they are computed. It cannot
/// replace them; throwing fails the call.
public typealias AttentionHook = (_ module: Module, _ probabilities: Tensor) throws -> Void

/// A self-attention module that reports its attention probabilities to attention hooks:
/// `MultiheadAttention` and the models' attention layers (DINOv2, BERT, CLIP).
///
/// The contract for conforming modules: without attention hooks, run as before (fused fast paths
/// allowed); with one (`hasAttentionHooks`), compute the probabilities explicitly, pass them to
/// `reportAttention` before using them, and return the same output as the fused path (within
/// float32 rounding).
public protocol AttentionReporting: Module {}

extension AttentionReporting {
    /// Registers an attention hook; the handle removes it (like a forward hook's).
    @discardableResult
    public func registerAttentionHook(_ hook: @escaping AttentionHook) -> HookHandle {
        let entry = HookTable.AttentionHookEntry(id: HookTable.makeIdentifier(), body: hook)
        ensureHookTable().attentionHooks.append(entry)
        return makeHandle(id: entry.id)
    }

    /// True while an attention hook is registered: forward must compute and report the probabilities.
    public var hasAttentionHooks: Bool { hookTable.map { !$0.attentionHooks.isEmpty } ?? false }

    /// Hands one call's probabilities [N, heads, L, S] to the attention hooks, in registration order.
    public func reportAttention(_ probabilities: Tensor) throws {
        for hook in hookTable?.attentionHooks ?? [] { try hook.body(self, probabilities) }
    }
}

extension AttentionReporting {
    /// Multi-head attention of projected `query` [N, L, heads·D] over `key` [N, S, heads·D] and
    /// `value` [N, S, heads·Dv] → [N, L, heads·Dv], `keyBias` [N, S] added to every query's scores:
    /// `Tensor.multiHeadAttention` (the fused kernel) without attention hooks; with them, its unfused
    /// form, whose probabilities are reported first.
    public func multiHeadAttention(query: Tensor, key: Tensor, value: Tensor, headCount: Int, keyBias: Tensor? = nil) throws -> Tensor {
        guard hasAttentionHooks else { return Tensor.multiHeadAttention(query: query, key: key, value: value, headCount: headCount, keyBias: keyBias) }
        let mask = keyBias?.reshaped([keyBias!.shape[0], 1, 1, keyBias!.shape[1]])
        let (context, probabilities) = Tensor.multiHeadAttentionWithProbabilities(query: query, key: key, value: value, headCount: headCount,
                                                                                  additiveMask: mask)
        try reportAttention(probabilities)
        return context
    }
}

extension Module {
    /// Runs `body` (a forward pass of this model) without autograd recording, with an attention
    /// hook on every `AttentionReporting` module of this tree, and returns the probabilities
    /// [N, heads, L, S] each call reported, in call order, named by module path (a module that
    /// reports twice: `name`, `name_1`, as captures name calls). Each is a detached copy, or what
    /// `transform` makes of it as it is reported (attention rollout keeps the heads fused only). The
    /// hooks exist only during the call and are removed also when `body` throws.
    public final func captureAttention(transform: ((Tensor) throws -> Tensor)? = nil,
                                       during body: () throws -> Void) throws -> [(name: String, probabilities: Tensor)] {
        var captured: [(name: String, probabilities: Tensor)] = []
        var calls: [String: Int] = [:]
        var handles: [HookHandle] = []
        defer { for handle in handles { handle.remove() } }
        for (path, module) in namedModules() {
            guard let attention = module as? any AttentionReporting else { continue }
            handles.append(attention.registerAttentionHook { _, probabilities in
                let call = calls[path, default: 0]
                calls[path] = call + 1
                captured.append((call == 0 ? path : "\(path)_\(call)", try transform?(probabilities) ?? probabilities.detachedCopy()))
            })
        }
        try GradMode.withDisabled { try body() }
        return captured
    }
}
