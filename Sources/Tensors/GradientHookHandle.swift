/// Removes one gradient hook from a tensor's node (`Tensor.registerHook`). `remove()` is
/// idempotent; a hook removed while a backward pass runs is skipped from then on.
public final class GradientHookHandle {
    /// The hook's id (unique in the process).
    public let id: Int
    private weak var node: GradientNode?
    public private(set) var isRemoved = false

    init(id: Int, node: GradientNode) {
        self.id = id
        self.node = node
    }

    /// Unregisters the hook; later calls do nothing.
    public func remove() {
        guard !isRemoved else { return }
        isRemoved = true
        node?.gradientHooks.removeAll { $0.id == id }
    }
}
