/// Why the server could not start or serve: the offending value in the payload.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    /// The host is not a numeric IPv4/IPv6 address (or `localhost`).
    case invalidHost(String)
    /// The port is outside 0…65535.
    case invalidPort(Int)
    /// A configuration value is out of range: which one and why.
    case invalidConfiguration(field: String, reason: String)
    /// A socket call failed while setting up the listener on `address`.
    case listenFailed(address: String, error: SystemCallError)
    /// An event-loop resource (epoll, eventfd) could not be created.
    case eventLoopFailed(SystemCallError)
    /// `start()` was called twice, or after shutdown.
    case notStartable(String)

    public var description: String {
        switch self {
        case .invalidHost(let host): "invalid host '\(host)': expected a numeric IPv4 or IPv6 address or 'localhost'"
        case .invalidPort(let port): "invalid port \(port): expected 0...65535"
        case .invalidConfiguration(let field, let reason): "invalid HTTP configuration '\(field)': \(reason)"
        case .listenFailed(let address, let error): "cannot listen on \(address): \(error)"
        case .eventLoopFailed(let error): "cannot create the event loop: \(error)"
        case .notStartable(let reason): "cannot start the server: \(reason)"
        }
    }
}
