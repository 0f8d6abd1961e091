/// A step around a responder: it sees the request before and the response (or error) after the
/// rest of the chain (`next`).
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse
}
