import CEpoll
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Accepts connections on the listening socket for one event loop. With several loops, each
/// registers the same socket with `EPOLLEXCLUSIVE`, so one loop is woken per incoming connection.
final class Listener: EventLoopHandler {
    private let descriptor: Int32
    private let loop: EventLoop
    private let core: HTTPServerCore
    private var registered = false
    private var stopped = false

    init(descriptor: Int32, loop: EventLoop, core: HTTPServerCore) {
        self.descriptor = descriptor
        self.loop = loop
        self.core = core
    }

    /// Starts accepting on this loop (call on the loop thread).
    func activate() throws(SystemCallError) {
        try loop.register(descriptor, handler: self, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
        registered = true
    }

    func handleEvents(_ events: UInt32) {
        // Bounded batch: a flood of connects must not starve the loop's other sockets.
        for _ in 0..<64 where !stopped {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted: Int32?
            do {
                accepted = try syscall("accept") {
                    withUnsafeMutablePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(descriptor, $0, &length) }
                    }
                }
            } catch {
                switch error.code {
                case ECONNABORTED, EPROTO, EPERM:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: a level-triggered listener would spin; pause it briefly.
                    core.logger.warning("accept paused", ["error": .string(error.description)])
                    loop.unregister(descriptor)
                    registered = false
                    loop.schedule(after: 100_000_000) { [self] in resume() }
                    return
                default:
                    core.logger.error("accept failed", ["error": .string(error.description)])
                    return
                }
            }
            guard let client = accepted else { return }
            configure(client)
            let count = core.openConnections.add(1, ordering: .relaxed).newValue
            if count > core.configuration.maxConnections {
                core.openConnections.subtract(1, ordering: .relaxed)
                refuse(client)
                continue
            }
            let connection = HTTPConnection(descriptor: client, peer: SocketAddress(storage: storage), loop: loop, core: core)
            do {
                try connection.activate()
            } catch {
                core.logger.error("cannot register connection", ["error": .string(error.description)])
                connection.close()
            }
        }
    }

    /// Non-blocking, close-on-exec, no Nagle delay (responses are written whole or in large chunks).
    private func configure(_ client: Int32) {
        let flags = (try? syscall("fcntl") { fcntl(client, F_GETFL) }) ?? 0
        _ = try? syscall("fcntl") { fcntl(client, F_SETFL, flags | O_NONBLOCK) }
        _ = try? syscall("fcntl") { fcntl(client, F_SETFD, FD_CLOEXEC) }
        var one: Int32 = 1
        _ = try? syscall("setsockopt") { setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Over the connection cap: a best-effort 503 and close.
    private func refuse(_ client: Int32) {
        let body = "{\"error\":\"too many open connections, retry later\",\"error_type\":\"unavailable\"}"
        let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        _ = Array(response.utf8).withUnsafeBytes { bytes in try? syscall("write") { write(client, bytes.baseAddress, bytes.count) } }
        _ = try? syscall("shutdown") { shutdown(client, Int32(SHUT_WR)) }
        // close(2) is not retried on EINTR: on Linux the descriptor is released either way.
        Glibc.close(client)
    }

    private func resume() {
        guard !registered, !stopped else { return }
        do { try activate() } catch { loop.schedule(after: 100_000_000) { [self] in resume() } }
    }

    func tick(now: UInt64) {}

    func beginDrain() {
        stopped = true
        if registered { loop.unregister(descriptor) }
        registered = false
    }

    func forceClose() { beginDrain() }
}
