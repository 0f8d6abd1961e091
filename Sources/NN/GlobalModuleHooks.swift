import Synchronization
import Tensors

/// Hooks that run for every module call in the process (PyTorch's
/// `register_module_forward_pre_hook` / `register_module_forward_hook`), for debugging and tracing.
///
/// They are process-wide, so they see every request's modules on every thread; the hooks must
/// be `@Sendable` and are called concurrently. The registry is lock-protected; when none is
/// registered, module calls pay one relaxed atomic load (`isActive`).
public enum GlobalModuleHooks {
    public typealias PreHook = @Sendable (_ module: Module, _ inputs: [Tensor]) throws -> [Tensor]?
    public typealias Hook = @Sendable (_ module: Module, _ inputs: [Tensor], _ output: Result<Tensor, any Error>) throws -> Tensor?

    struct Registry {
        var preHooks: [(id: Int, body: PreHook)] = []
        var forwardHooks: [(id: Int, alwaysCall: Bool, body: Hook)] = []
    }

    /// Number of registered global hooks; the module call fast path checks it.
    @usableFromInline static let activeCount = Atomic<Int>(0)
    static let registry = Mutex(Registry())

    /// True when at least one global hook is registered.
    @inlinable public static var isActive: Bool {
        activeCount.load(ordering: .relaxed) != 0
    }

    /// Registers a pre-hook run before every module's own pre-hooks.
    @discardableResult
    public static func registerForwardPreHook(prepend: Bool = false, _ hook: @escaping PreHook) -> HookHandle {
        let id = HookTable.makeIdentifier()
        registry.withLock { registry in
            if prepend { registry.preHooks.insert((id, hook), at: 0) } else { registry.preHooks.append((id, hook)) }
        }
        activeCount.add(1, ordering: .relaxed)
        return HookHandle(id: id) { remove(id: id) }
    }

    /// Registers a forward hook run before every module's own forward hooks. The output is
    /// `.success` normally; with `alwaysCall` the hook also runs with `.failure` when a call throws.
    @discardableResult
    public static func registerForwardHook(prepend: Bool = false, alwaysCall: Bool = false, _ hook: @escaping Hook) -> HookHandle {
        let id = HookTable.makeIdentifier()
        registry.withLock { registry in
            let entry = (id: id, alwaysCall: alwaysCall, body: hook)
            if prepend { registry.forwardHooks.insert(entry, at: 0) } else { registry.forwardHooks.append(entry) }
        }
        activeCount.add(1, ordering: .relaxed)
        return HookHandle(id: id) { remove(id: id) }
    }

    private static func remove(id: Int) {
        let removed = registry.withLock { registry -> Bool in
            if let index = registry.preHooks.firstIndex(where: { $0.id == id }) {
                registry.preHooks.remove(at: index)
                return true
            }
            if let index = registry.forwardHooks.firstIndex(where: { $0.id == id }) {
                registry.forwardHooks.remove(at: index)
                return true
            }
            return false
        }
        if removed { activeCount.subtract(1, ordering: .relaxed) }
    }

    /// A copy of the registered hooks for one module call.
    static func snapshot() -> Registry {
        registry.withLock { $0 }
    }
}
