/// Whether ops on tracked tensors record an autograd graph on the current thread.
///
/// On by default (PyTorch's semantics). Serving runs inside `GradMode.withDisabled`, where
/// nothing is recorded whatever the inputs' `requiresGrad`.
public enum GradMode {
    private static let enabled = ThreadLocal<Bool>(default: { true })

    public static var isEnabled: Bool { enabled.value }

    /// Runs `body` with gradient recording off on this thread (PyTorch's `torch.no_grad()`).
    public static func withDisabled<Result>(_ body: () throws -> Result) rethrows -> Result {
        try enabled.withValue(false, body)
    }

    /// Runs `body` with gradient recording on (PyTorch's `torch.enable_grad()`).
    public static func withEnabled<Result>(_ body: () throws -> Result) rethrows -> Result {
        try enabled.withValue(true, body)
    }
}
