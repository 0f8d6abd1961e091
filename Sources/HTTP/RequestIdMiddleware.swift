/// Puts the request id on the response as `X-Request-Id` (the client's own id when it sent one).
/// The server also adds it to responses it makes itself, so every response carries one.
public struct RequestIdMiddleware: HTTPMiddleware {
    public init() {}

    public func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        var response = try await next.respond(to: request, context: context)
        if !response.headers.contains("x-request-id") {
            response.headers.add(name: "X-Request-Id", value: context.requestId)
        }
        return response
    }
}
