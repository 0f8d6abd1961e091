/// A step around a responder: it sees the request before and the response (or error) after the
/// rest of the chain (`next`).
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse
}

/// A responder that runs `middlewares` in order (the first is outermost) around `responder`. The
/// body policy is the inner responder's.
public struct MiddlewareChain: Responder {
    private let middlewares: [any HTTPMiddleware]
    private let responder: any Responder

    public init(_ middlewares: [any HTTPMiddleware], responder: any Responder) {
        self.middlewares = middlewares
        self.responder = responder
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        try await Step(middlewares: middlewares[...], responder: responder).respond(to: request, context: context)
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { responder.bodyPolicy(for: head) }

    /// The chain from one middleware inward.
    private struct Step: Responder {
        let middlewares: ArraySlice<any HTTPMiddleware>
        let responder: any Responder

        func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
            guard let first = middlewares.first else { return try await responder.respond(to: request, context: context) }
            return try await first.respond(to: request, context: context,
                                           next: Step(middlewares: middlewares.dropFirst(), responder: responder))
        }

        func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { responder.bodyPolicy(for: head) }
    }
}

extension Responder {
    /// This responder wrapped in the standard middleware: request ids, access log, error mapping.
    public func withStandardMiddleware(logger: Logger) -> MiddlewareChain {
        MiddlewareChain([RequestIdMiddleware(), AccessLogMiddleware(logger: logger), ErrorMiddleware(logger: logger)],
                        responder: self)
    }
}
