import Dispatch
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
    /// drain must not kill the process half-way).
    @discardableResult
    public func runUntilSignal(_ signals: [Int32] = [SIGTERM, SIGINT], drainTimeout: Duration) async -> Int32 {
        let received = await Self.waitForSignal(signals)
        logger.info("signal received", ["signal": .int(Int(received))])
        await shutdown(drainTimeout: drainTimeout)
        return received
    }

    /// Waits until one of `signals` is delivered to the process.
    static func waitForSignal(_ signals: [Int32]) async -> Int32 {
        let sources = SignalSources(signals)
        defer { sources.cancel() }
        return await withCheckedContinuation { continuation in
            sources.start { signal in continuation.resume(returning: signal) }
        }
    }

    var logger: Logger { core.logger }
}

/// Dispatch signal sources for a set of signals; the handler runs once, for the first one.
// Dispatch sources are thread-safe objects; they are not annotated Sendable.
private final class SignalSources: @unchecked Sendable {
    private let sources: [(Int32, any DispatchSourceSignal)]
    private let fired = Atomic<Bool>(false)

    init(_ signals: [Int32]) {
        sources = signals.map { number in
            // The default action must be off before the source can observe the signal.
            signal(number, SIG_IGN)
            return (number, DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
    }

    func start(_ handler: @escaping @Sendable (Int32) -> Void) {
        for (number, source) in sources {
            source.setEventHandler { [self] in
                if !fired.exchange(true, ordering: .relaxed) { handler(number) }
            }
            source.resume()
        }
    }

    func cancel() {
        for (_, source) in sources { source.cancel() }
    }
}
