import Synchronization

/// Tells whether the client of a request has gone, and calls handlers once when it goes: the
/// service uses it to drop queued jobs whose client will never read the answer.
///
/// The server signals it when the peer closes or resets the connection (or a write fails) while
/// the request is in flight; tests signal it by hand.
public final class ClientDisconnection: Sendable {
    private struct State: ~Copyable {
        var disconnected = false
        var handlers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the client has disconnected.
    public var hasDisconnected: Bool { state.withLock { $0.disconnected } }

    /// Runs `handler` once when the client disconnects — immediately (on the calling thread) if it
    /// already has. Handlers run synchronously on the thread that noticed the disconnection (an
    /// event loop, usually) while the connection is locked: they must be quick, must not block,
    /// and should only flag or cancel work (e.g. drop a queued job), never wait for it.
    public func onDisconnect(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.disconnected { return true }
            state.handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// Marks the client as gone and runs the registered handlers (once; later calls do nothing).
    public func signal() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.disconnected else { return [] }
            state.disconnected = true
            defer { state.handlers = [] }
            return state.handlers
        }
        for handler in handlers { handler() }
    }
}
