import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension HTTPServer {
    /// Serves until one of `signals` arrives (SIGTERM from an orchestrator, SIGINT from a terminal),
    /// then shuts down gracefully with `drainTimeout` and returns the signal, so the executable can
    /// exit 0. The signals' default actions stay disabled afterwards (a second SIGTERM during the
    /// drain must not kill the process half-way). Watching starts with this call: a process that
    /// announces it is ready before calling this should make its `ShutdownSignals` first.
    @discardableResult
    public func runUntilSignal(_ signals: [Int32] = [SIGTERM, SIGINT], drainTimeout: Duration) async -> Int32 {
        await runUntilSignal(ShutdownSignals(signals), drainTimeout: drainTimeout)
    }

    /// Serves until `watch` sees its first signal, then shuts down as above.
    @discardableResult
    public func runUntilSignal(_ watch: ShutdownSignals, drainTimeout: Duration) async -> Int32 {
        let received = await watch.wait()
        logger.info("signal received", ["signal": .int(Int(received))])
        await shutdown(drainTimeout: drainTimeout)
        return received
    }

    var logger: Logger { core.logger }
}

/// Signals watched from the moment this is made (their default actions off, Dispatch sources
/// resumed), so that one arriving before `wait()` — say right after the process printed that it
/// listens — is kept rather than killing the process or being lost. The first signal counts.
// Dispatch sources are thread-safe objects; they are not annotated Sendable.
public final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private enum State {
        case watching
        case waiting(CheckedContinuation<Int32, Never>)
        case received(Int32)
    }
    private let state = Mutex<State>(.watching)

    public init(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        sources = signals.map { number in
            // The default action must be off before the source can observe the signal.
            signal(number, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: number, queue: .global())
        }
        for (source, number) in zip(sources, signals) {
            source.setEventHandler { [self] in deliver(number) }
            source.resume()
        }
    }

    /// The first signal watched, as soon as it has arrived; the sources are cancelled then.
    public func wait() async -> Int32 {
        let received = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let early: Int32? = state.withLock { state in
                switch state {
                case .received(let number): return number
                case .watching: state = .waiting(continuation); return nil
                case .waiting: preconditionFailure("ShutdownSignals.wait called twice")
                }
            }
            if let early { continuation.resume(returning: early) }
        }
        for source in sources { source.cancel() }
        return received
    }

    private func deliver(_ number: Int32) {
        let waiting: CheckedContinuation<Int32, Never>? = state.withLock { state in
            switch state {
            case .watching: state = .received(number); return nil
            case .waiting(let continuation): state = .received(number); return continuation
            case .received: return nil
            }
        }
        waiting?.resume(returning: number)
    }
}
