import Logging

/// What a connection's state machine reads from the server it belongs to: settings, the drain
/// flag, a route's body policy and the current `Date` line. `HTTPServerCore` is the real one;
/// tests of the state machine supply their own, with a fixed date and a drain flag they set.
protocol HTTPConnectionEnvironment: AnyObject {
    var configuration: HTTPServerConfiguration { get }
    /// The logger request contexts carry.
    var logger: Logger { get }
    /// `Server: <name>\r\n`.
    var serverHeaderLine: [UInt8] { get }
    // Timeouts in nanoseconds.
    var headerReadTimeout: UInt64 { get }
    var idleTimeout: UInt64 { get }
    var bodyReadTimeout: UInt64 { get }
    var writeTimeout: UInt64 { get }
    var lingerTimeout: UInt64 { get }
    /// Whether the server is shutting down (new requests get 503, connections close after their response).
    var isDraining: Bool { get }
    /// How the body of a request with this head reaches its handler (the route's policy).
    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy
    /// `Date: <IMF-fixdate>\r\n` for now.
    func dateLine() -> [UInt8]
}

extension HTTPServerCore: HTTPConnectionEnvironment {
    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { responder.bodyPolicy(for: head) }
    func dateLine() -> [UInt8] { HTTPDateCache.shared.headerLine() }
}
