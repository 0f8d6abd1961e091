import Logging
import Synchronization

/// State shared by the listener and every connection of one server: configuration, responder,
/// logger, the open-connection count and the draining flag. Immutable apart from the atomics.
final class HTTPServerCore: Sendable {
    let configuration: HTTPServerConfiguration
    let responder: any Responder
    let logger: Logger
    /// Open connections across all loops (the cap and the drain wait read it).
    let openConnections = Atomic<Int>(0)
    /// Set once shutdown starts: new requests get 503 and connections close after their response.
    let draining = Atomic<Bool>(false)
    /// Where handlers and streamed-body producers run.
    let handlerExecutor: HandlerExecutor
    /// `Server: <name>\r\n`.
    let serverHeaderLine: [UInt8]

    // Timeouts in nanoseconds, precomputed for the loops' ticks.
    let headerReadTimeout: UInt64
    let idleTimeout: UInt64
    let bodyReadTimeout: UInt64
    let writeTimeout: UInt64
    let lingerTimeout: UInt64

    init(configuration: HTTPServerConfiguration, responder: any Responder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        handlerExecutor = HandlerExecutor.shared(threads: configuration.handlerThreads)
        serverHeaderLine = Array("Server: \(configuration.serverName)\r\n".utf8)
        headerReadTimeout = nanoseconds(configuration.headerReadTimeout)
        idleTimeout = nanoseconds(configuration.idleTimeout)
        bodyReadTimeout = nanoseconds(configuration.bodyReadTimeout)
        writeTimeout = nanoseconds(configuration.writeTimeout)
        lingerTimeout = nanoseconds(configuration.lingerTimeout)
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Logs a response the server made itself (a rejected or timed-out request), in the access-log shape.
    func logServerResponse(method: String, path: String, status: HTTPStatus, bytes: Int, requestId: String,
                           peer: SocketAddress?, reason: String) {
        guard logger.isEnabled(.info) else { return }
        var fields: [(String, LogValue)] = [
            ("method", .string(method)), ("path", .string(path)), ("status", .int(status.code)), ("bytes", .int(bytes)),
            ("duration_ms", .double(0)), ("request_id", .string(requestId)),
        ]
        if let peer { fields.append(("peer", .string(peer.description))) }
        fields.append(("error", .string(reason)))
        logger.log(.info, "request", fields: fields)
    }
}
