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

    var preHooks: [PreHookEntry] = []
    var forwardHooks: [ForwardHookEntry] = []
    // Backward hooks (PyTorch's register_full_backward_hook) belong here, next to the forward
    // ones: registered per module with the same ids and handles, and attached by the call
    // dispatch to the gradient node of the module's output once autograd runs through modules.

    var count: Int { preHooks.count + forwardHooks.count }

    /// Removes the hook with `id`; true if it was here.
    func remove(id: Int) -> Bool {
        if let index = preHooks.firstIndex(where: { $0.id == id }) {
            preHooks.remove(at: index)
            return true
        }
        if let index = forwardHooks.firstIndex(where: { $0.id == id }) {
            forwardHooks.remove(at: index)
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
