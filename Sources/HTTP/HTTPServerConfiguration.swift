#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything the server can be told: where to listen, how many loop threads, and every limit and
/// timeout (each violation is answered with its status and the connection closed).
public struct HTTPServerConfiguration: Sendable {
    /// Numeric IPv4 or IPv6 address to bind (`"0.0.0.0"`, `"::"`, `"127.0.0.1"`, `"::1"`), or `localhost`.
    public var host: String
    /// Port to bind; 0 lets the OS choose (read it back from `HTTPServer.localAddress`).
    public var port: Int
    /// Listen backlog (pending connections the kernel queues before `accept`).
    public var backlog: Int
    /// Event-loop threads; each serves its own connections. One is usually best on small machines.
    public var eventLoopThreads: Int
    /// Threads that run request handlers (Swift tasks preferring the server's task executor);
    /// 0 means one per online CPU.
    public var handlerThreads: Int
    /// Request size limits.
    public var limits: HTTPParserLimits
    /// Open connections allowed; over the cap a connection gets a 503 and is closed at once.
    public var maxConnections: Int
    /// Time for a request's head to arrive completely, from its first byte (from accept for a new
    /// connection); then 408 and close. Defeats slowloris.
    public var headerReadTimeout: Duration
    /// How long a keep-alive connection may sit idle between requests before it is closed.
    public var idleTimeout: Duration
    /// Longest pause while reading a request body (between two reads that make progress); then 408.
    public var bodyReadTimeout: Duration
    /// Longest pause while writing a response (the client not reading); then the connection is closed.
    public var writeTimeout: Duration
    /// After answering and half-closing a connection, how long unread request bytes are read and
    /// dropped, so the client receives the answer instead of a reset.
    public var lingerTimeout: Duration
    /// Unsent response bytes above which a streamed body's `write` suspends (resumes below half).
    public var responseHighWaterMark: Int
    /// Unread streamed request-body bytes above which the socket is not read (resumes below half).
    public var requestBodyHighWaterMark: Int
    /// The `Server` header value.
    public var serverName: String

    public init(host: String = "127.0.0.1", port: Int = 8080, backlog: Int = 1024, eventLoopThreads: Int = 1, handlerThreads: Int = 0,
                limits: HTTPParserLimits = HTTPParserLimits(), maxConnections: Int = 10_000,
                headerReadTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60),
                bodyReadTimeout: Duration = .seconds(30), writeTimeout: Duration = .seconds(30),
                lingerTimeout: Duration = .seconds(2), responseHighWaterMark: Int = 256 * 1024,
                requestBodyHighWaterMark: Int = 1024 * 1024, serverName: String = "Periscope") {
        self.host = host
        self.port = port
        self.backlog = backlog
        self.eventLoopThreads = eventLoopThreads
        self.handlerThreads = handlerThreads > 0 ? handlerThreads : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.limits = limits
        self.maxConnections = maxConnections
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.writeTimeout = writeTimeout
        self.lingerTimeout = lingerTimeout
        self.responseHighWaterMark = responseHighWaterMark
        self.requestBodyHighWaterMark = requestBodyHighWaterMark
        self.serverName = serverName
    }

    /// Checks every value; the error names the first bad field.
    public func validate() throws(HTTPServerError) {
        func require(_ condition: Bool, _ field: String, _ reason: String) throws(HTTPServerError) {
            if !condition { throw .invalidConfiguration(field: field, reason: reason) }
        }
        try require((0...65535).contains(port), "port", "expected 0...65535, got \(port)")
        try require(backlog > 0, "backlog", "must be positive")
        try require((1...64).contains(eventLoopThreads), "eventLoopThreads", "expected 1...64, got \(eventLoopThreads)")
        try require((1...256).contains(handlerThreads), "handlerThreads", "expected 1...256, got \(handlerThreads)")
        try require(maxConnections > 0, "maxConnections", "must be positive")
        try require(limits.maxRequestLineSize > 16, "limits.maxRequestLineSize", "must be > 16")
        try require(limits.maxHeadSize >= limits.maxRequestLineSize, "limits.maxHeadSize", "must be >= maxRequestLineSize")
        try require(limits.maxHeaderCount > 0, "limits.maxHeaderCount", "must be positive")
        try require(limits.maxBodySize >= 0, "limits.maxBodySize", "must not be negative")
        try require(limits.maxChunkLineSize > 2, "limits.maxChunkLineSize", "must be > 2")
        for (field, value) in [("headerReadTimeout", headerReadTimeout), ("idleTimeout", idleTimeout),
                               ("bodyReadTimeout", bodyReadTimeout), ("writeTimeout", writeTimeout)] {
            try require(value > .zero, field, "must be positive")
        }
        try require(lingerTimeout >= .zero, "lingerTimeout", "must not be negative")
        try require(responseHighWaterMark > 0, "responseHighWaterMark", "must be positive")
        try require(requestBodyHighWaterMark > 0, "requestBodyHighWaterMark", "must be positive")
        try require(!serverName.isEmpty && serverName.utf8.allSatisfy { (0x20...0x7E).contains($0) }, "serverName",
                    "must be non-empty visible ASCII")
    }

    /// How often timeouts are checked: an eighth of the shortest, between 1 ms and 100 ms.
    var tickInterval: Duration {
        let shortest = [headerReadTimeout, idleTimeout, bodyReadTimeout, writeTimeout, lingerTimeout].filter { $0 > .zero }.min() ?? .seconds(1)
        return min(max(shortest / 8, .milliseconds(1)), .milliseconds(100))
    }
}
