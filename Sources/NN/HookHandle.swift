/// Removes one hook (PyTorch's `RemovableHandle`). `remove()` is idempotent; removing during a
/// forward pass is safe and takes effect from the module's next call.
///
/// A handle belongs to the thread that registered the hook (like the module it came from).
public final class HookHandle {
    /// The hook's process-wide id.
    public let id: Int
    private var removal: (() -> Void)?

    init(id: Int, removal: @escaping () -> Void) {
        self.id = id
        self.removal = removal
    }

    /// True once `remove()` has run.
    public var isRemoved: Bool { removal == nil }

    /// Unregisters the hook; later calls do nothing.
    public func remove() {
        guard let removal else { return }
        self.removal = nil
        removal()
    }
}
