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
