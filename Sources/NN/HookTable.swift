import Synchronization
import Tensors

/// A forward pre-hook: sees the module and its inputs before `forward`; returning an array
/// replaces the inputs (same count), nil keeps them.
public typealias ForwardPreHook = (_ module: Module, _ inputs: [Tensor]) throws -> [Tensor]?

/// A forward hook: sees the module, its inputs and its primary output (the first element of a
/// tuple output) after `forward`; returning a tensor replaces that output, nil keeps it.
public typealias ForwardHook = (_ module: Module, _ inputs: [Tensor], _ output: Tensor) throws -> Tensor?

/// A forward hook registered with `alwaysCall: true`: also runs when the pre-hooks, `forward` or an
/// earlier forward hook throw, receiving `.failure` (its return value is then ignored).
public typealias AlwaysCalledForwardHook = (_ module: Module, _ inputs: [Tensor], _ output: Result<Tensor, any Error>) throws -> Tensor?

/// One module's hooks, in call order. Dispatch works on a copy of these arrays taken when the
/// module is called, so a hook removed (or added) while a call runs — even by itself — does not
/// disturb that call and takes effect from the module's next call (PyTorch's behaviour).
final class HookTable {
    struct PreHookEntry {
        let id: Int
        let body: ForwardPreHook
    }

    struct ForwardHookEntry {
        let id: Int
        let alwaysCall: Bool
        let body: AlwaysCalledForwardHook
    }

    struct BackwardHookEntry {
        let id: Int
        let body: FullBackwardHook
    }

    struct BackwardPreHookEntry {
        let id: Int
        let body: FullBackwardPreHook
    }

    struct AttentionHookEntry {
        let id: Int
        let body: AttentionHook
    }

    var preHooks: [PreHookEntry] = []
    var forwardHooks: [ForwardHookEntry] = []
    /// Backward hooks (see Module+BackwardHooks.swift): a call attaches them to the autograd
    /// graph it records; they run during a later backward pass if still registered then.
    var backwardHooks: [BackwardHookEntry] = []
    var backwardPreHooks: [BackwardPreHookEntry] = []
    /// Attention hooks (see AttentionReporting.swift): an `AttentionReporting` module with one
    /// computes and reports its attention probabilities.
    var attentionHooks: [AttentionHookEntry] = []

    var count: Int { preHooks.count + forwardHooks.count + backwardHooks.count + backwardPreHooks.count + attentionHooks.count }

    /// Whether a call must attach backward hooks to the graph.
    var hasBackwardHooks: Bool { !backwardHooks.isEmpty || !backwardPreHooks.isEmpty }

    /// Whether the hook with `id` is still registered here.
    func contains(id: Int) -> Bool {
        preHooks.contains { $0.id == id } || forwardHooks.contains { $0.id == id }
            || backwardHooks.contains { $0.id == id } || backwardPreHooks.contains { $0.id == id }
            || attentionHooks.contains { $0.id == id }
    }

    /// Removes the hook with `id`; true if it was here.
    func remove(id: Int) -> Bool {
        if let index = backwardHooks.firstIndex(where: { $0.id == id }) {
            backwardHooks.remove(at: index)
            return true
        }
        if let index = backwardPreHooks.firstIndex(where: { $0.id == id }) {
            backwardPreHooks.remove(at: index)
            return true
        }
        if let index = preHooks.firstIndex(where: { $0.id == id }) {
            preHooks.remove(at: index)
            return true
        }
        if let index = forwardHooks.firstIndex(where: { $0.id == id }) {
            forwardHooks.remove(at: index)
            return true
        }
        if let index = attentionHooks.firstIndex(where: { $0.id == id }) {
            attentionHooks.remove(at: index)
            return true
        }
        return false
    }

    /// Process-wide hook ids: unique across modules and the global hooks.
    private static let nextIdentifier = Atomic<Int>(1)

    static func makeIdentifier() -> Int {
        nextIdentifier.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
