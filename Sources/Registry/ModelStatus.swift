/// Where a model version is in its lifecycle.
///
/// ```
/// registered ──▶ loading ──▶ ready ──▶ unloaded
///                  │  ▲                   │
///                  ▼  └───── failed ◀─────┘ (any state can fail)
/// ```
/// `loading` is entered from `registered`, `unloaded` or `failed`; `ready` only from `loading`;
/// `unloaded` from `ready` or `loading` (a load given up); `failed` from any state.
public enum ModelStatus: Sendable, Equatable, CustomStringConvertible {
    /// Registered, never loaded by this server.
    case registered
    /// A worker is verifying and building it.
    case loading
    /// Loaded and serving.
    case ready
    /// Verification or loading failed; `reason` says why. Loading may be retried.
    case failed(reason: String)
    /// Was loaded, memory released.
    case unloaded

    /// The name stored in the database and shown by the API.
    public var name: String {
        switch self {
        case .registered: "registered"
        case .loading: "loading"
        case .ready: "ready"
        case .failed: "failed"
        case .unloaded: "unloaded"
        }
    }

    /// The failure reason, `nil` unless `failed`.
    public var reason: String? {
        if case .failed(let reason) = self { return reason }
        return nil
    }

    public var description: String { reason.map { "failed (\($0))" } ?? name }

    /// True when the lifecycle allows going from `self` to `next`.
    public func canTransition(to next: ModelStatus) -> Bool {
        switch (self, next) {
        case (_, .failed): true
        case (.registered, .loading), (.unloaded, .loading), (.failed, .loading): true
        case (.loading, .ready): true
        case (.ready, .unloaded), (.loading, .unloaded): true
        default: false
        }
    }

    /// The status stored as `name` and `reason` columns.
    init(name: String, reason: String?) {
        switch name {
        case "loading": self = .loading
        case "ready": self = .ready
        case "failed": self = .failed(reason: reason ?? "unknown")
        case "unloaded": self = .unloaded
        default: self = .registered
        }
    }
}
