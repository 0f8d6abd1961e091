import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Facts about one request that are not part of the message: its id, the peer, when it arrived,
/// whether the client is still there, and the logger to use.
public struct RequestContext: Sendable {
    /// The request id: the client's `X-Request-Id` when it sent a usable one, otherwise generated.
    /// Every response carries it back in `X-Request-Id`.
    public let requestId: String
    /// The client's address; nil for requests made in code.
    public let peerAddress: SocketAddress?
    /// When the head of the request had arrived (monotonic, for durations and deadlines).
    public let arrivalTime: ContinuousClock.Instant
    /// The logger for this request.
    public let logger: Logger
    /// Disconnection of the client.
    public let disconnection: ClientDisconnection

    public init(requestId: String = RequestContext.generateRequestId(), peerAddress: SocketAddress? = nil,
                arrivalTime: ContinuousClock.Instant = .now, logger: Logger = .disabled,
                disconnection: ClientDisconnection = ClientDisconnection()) {
        self.requestId = requestId
        self.peerAddress = peerAddress
        self.arrivalTime = arrivalTime
        self.logger = logger
        self.disconnection = disconnection
    }

    /// Whether the client has closed the connection (its answer would never be read). When that
    /// happens the handler's task is also cancelled, so `Task.isCancelled` and cancellation
    /// handlers see it too.
    public var isClientDisconnected: Bool { disconnection.hasDisconnected }

    /// Runs `handler` once when the client disconnects (immediately if it already has).
    public func onClientDisconnect(_ handler: @escaping @Sendable () -> Void) {
        disconnection.onDisconnect(handler)
    }

    // MARK: - Request ids

    /// The client's id when it is 1…128 characters of visible ASCII (it is echoed in a header and
    /// written to logs), otherwise a new one.
    public static func requestId(from headers: HTTPHeaders) -> String {
        if let sent = headers["x-request-id"], !sent.isEmpty, sent.utf8.count <= 128,
           sent.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            return sent
        }
        return generateRequestId()
    }

    /// A new id unique within the process and, with high probability, across processes:
    /// a random per-process prefix and a counter (`5f0c2a9e1b7d3c44-000000000000002a`).
    public static func generateRequestId() -> String {
        let number = counter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 29) { buffer in
            for index in 0..<16 { buffer[index] = processPrefix[index] }
            buffer[16] = UInt8(ascii: "-")
            for index in 0..<12 { buffer[17 + index] = hexDigits[Int((number >> (4 * UInt64(11 - index))) & 0xF)] }
            return 29
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let counter = Atomic<UInt64>(0)
    private static let processPrefix: [UInt8] = {
        let digits = String(UInt64.random(in: .min ... .max), radix: 16)
        return Array((String(repeating: "0", count: 16 - digits.count) + digits).utf8)
    }()
}
