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
