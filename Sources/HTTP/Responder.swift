/// Answers requests: the one interface between the server and the application, so routes can be
/// tested by calling `respond` directly, without sockets.
///
/// Handlers run on Swift concurrency tasks, never on an event-loop thread; they may suspend for as
/// long as they need (the connection keeps serving its socket meanwhile).
public protocol Responder: Sendable {
    /// The response to `request`. A thrown error becomes an error response (see `ErrorMiddleware`).
    func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse

    /// How the body of a request with this head is delivered: buffered (the default, with the
    /// server's body limit) or streamed. Called on the event loop before the body is read, so it
    /// must be quick and must not block.
    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy
}

extension Responder {
    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .buffered() }
}

/// How a request body reaches the handler.
public enum HTTPBodyPolicy: Sendable, Equatable {
    /// Read completely before the handler runs; over `maxSize` (nil: the server's
    /// `limits.maxBodySize`) the request is answered 413 without running the handler.
    case buffered(maxSize: Int? = nil)
    /// The handler runs as soon as the head arrives and reads `request.body` as a stream of chunks;
    /// past `maxSize` (nil: the server's limit) the stream throws a 413 `HTTPError`.
    case streaming(maxSize: Int? = nil)

    /// The limit this policy sets, if any.
    var maxSize: Int? {
        switch self {
        case .buffered(let size), .streaming(let size): size
        }
    }
}

/// A responder from a closure.
public struct ResponderFunction: Responder {
    private let handler: @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse
    private let policy: HTTPBodyPolicy

    public init(bodyPolicy: HTTPBodyPolicy = .buffered(),
                _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        self.handler = handler
        self.policy = bodyPolicy
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        try await handler(request, context)
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { policy }
}
