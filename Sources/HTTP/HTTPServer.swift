import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An HTTP/1.1 server on non-blocking POSIX sockets and epoll event loops.
///
/// ```swift
/// let server = HTTPServer(configuration: .init(host: "0.0.0.0", port: 8080),
///                         responder: router.withStandardMiddleware(logger: logger), logger: logger)
/// try server.start()
/// await server.runUntilSignal(drainTimeout: .seconds(30))   // SIGTERM / SIGINT → graceful drain
/// ```
///
/// Connections are spread over `eventLoopThreads` loop threads; an idle keep-alive connection costs
/// a descriptor and a few kilobytes, never a thread. Each request runs the responder on a Swift task.
public final class HTTPServer: Sendable {
    private enum Phase { case created, running, shuttingDown, stopped }

    private struct State: ~Copyable {
        var phase = Phase.created
        var loops: [EventLoop] = []
        var listenDescriptor: Int32 = -1
        var localAddress: SocketAddress?
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let core: HTTPServerCore
    private let state = Mutex(State())

    /// A server answering with `responder`; server-level events (rejections, timeouts, errors) go to `logger`.
    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), responder: any Responder,
                logger: Logger = Logger(label: "http")) {
        core = HTTPServerCore(configuration: configuration, responder: responder, logger: logger)
    }

    /// The configuration in force.
    public var configuration: HTTPServerConfiguration { core.configuration }

    /// The bound address once started (with the OS-chosen port when configured with port 0).
    public var localAddress: SocketAddress? { state.withLock { $0.localAddress } }

    /// The bound port once started, else 0.
    public var port: Int { localAddress?.port ?? 0 }

    /// Whether shutdown has begun (new requests get 503); a readiness endpoint reports not ready.
    public var isDraining: Bool { core.isDraining }

    /// Connections currently open.
    public var openConnections: Int { core.openConnections.load(ordering: .relaxed) }

    // MARK: - Start

    /// Binds, listens and starts the event loops; returns once the socket accepts connections.
    public func start() throws(HTTPServerError) {
        let configuration = core.configuration
        try configuration.validate()
        _ = ignoreBrokenPipeSignal
        let address = try SocketAddress(host: configuration.host, port: configuration.port)
        try state.withLock { (state) throws(HTTPServerError) in
            guard state.phase == .created else { throw .notStartable("the server was already started") }
            let descriptor = try Self.listen(on: address, backlog: configuration.backlog)
            var loops: [EventLoop] = []
            do throws(SystemCallError) {
                for index in 0..<configuration.eventLoopThreads {
                    loops.append(try EventLoop(name: "http-loop-\(index)", tickInterval: configuration.tickInterval))
                }
            } catch {
                Glibc.close(descriptor)
                throw .eventLoopFailed(error)
            }
            state.listenDescriptor = descriptor
            state.localAddress = Self.boundAddress(descriptor) ?? address
            state.loops = loops
            state.phase = .running
            for loop in loops {
                loop.start()
                loop.execute { [core] in
                    let listener = Listener(descriptor: descriptor, loop: loop, core: core)
                    do {
                        try listener.activate()
                    } catch {
                        core.logger.error("cannot watch the listening socket", ["error": .string(String(describing: error))])
                    }
                }
            }
        }
        core.logger.info("listening", ["address": .string(localAddress?.description ?? "-"),
                                       "event_loops": .int(configuration.eventLoopThreads)])
    }

    private static func listen(on address: SocketAddress, backlog: Int) throws(HTTPServerError) -> Int32 {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor = try syscall("socket") { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }!
        } catch {
            throw .listenFailed(address: address.description, error: error)
        }
        do throws(SystemCallError) {
            var one: Int32 = 1
            try syscall("setsockopt") { setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            _ = try address.withSocketAddress { (pointer, length) throws(SystemCallError) in
                try syscall("bind") { bind(descriptor, pointer, length) }
            }
            try syscall("listen") { Glibc.listen(descriptor, Int32(clamping: backlog)) }
        } catch {
            Glibc.close(descriptor)
            throw .listenFailed(address: address.description, error: error)
        }
        return descriptor
    }

    private static func boundAddress(_ descriptor: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage) : nil
    }

    // MARK: - Shutdown

    /// Stops accepting, closes idle connections, lets in-flight requests finish for up to
    /// `drainTimeout` (requests arriving meanwhile get 503 and `Connection: close`), closes whatever
    /// is left, and stops the loops. Returns when all of that is done; calling it again waits for
    /// the first call.
    public func shutdown(drainTimeout: Duration) async {
        enum Action { case drain([EventLoop], Int32), wait, done }
        let action: Action = state.withLock { state in
            switch state.phase {
            case .created:
                state.phase = .stopped
                return .done
            case .running:
                state.phase = .shuttingDown
                return .drain(state.loops, state.listenDescriptor)
            case .shuttingDown:
                return .wait
            case .stopped:
                return .done
            }
        }
        switch action {
        case .done:
            return
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state -> Bool in
                    if state.phase == .stopped { return true }
                    state.shutdownWaiters.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
            return
        case .drain(let loops, let listenDescriptor):
            core.logger.info("draining", ["open_connections": .int(openConnections)])
            core.draining.store(true, ordering: .relaxed)
            // Every loop stops watching the socket and closes its idle connections.
            await Self.onEveryLoop(loops) { loop in for handler in loop.handlers { handler.beginDrain() } }
            Glibc.close(listenDescriptor)
            let deadline = ContinuousClock.now + drainTimeout
            while openConnections > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
            let left = openConnections
            if left > 0 {
                core.logger.warning("drain timeout: closing connections", ["open_connections": .int(left)])
                await Self.onEveryLoop(loops) { loop in for handler in loop.handlers { handler.forceClose() } }
            }
            for loop in loops { loop.stop() }
            for loop in loops { await loop.join() }
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.phase = .stopped
                state.localAddress = nil
                defer { state.shutdownWaiters = [] }
                return state.shutdownWaiters
            }
            for waiter in waiters { waiter.resume() }
            core.logger.info("stopped")
        }
    }

    /// Runs `body` on every loop's thread and waits for all of them.
    private static func onEveryLoop(_ loops: [EventLoop], _ body: @escaping @Sendable (EventLoop) -> Void) async {
        for loop in loops {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                loop.execute {
                    body(loop)
                    continuation.resume()
                }
            }
        }
    }
}
