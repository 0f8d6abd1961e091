import Logging

/// A responder that runs `middlewares` in order (the first is outermost) around `responder`. The
/// body policy is the inner responder's.
public struct MiddlewareChain: Responder {
    private let storage: Storage

    public init(_ middlewares: [any HTTPMiddleware], responder: any Responder) {
        storage = Storage(middlewares: middlewares, responder: responder)
    }

    public func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        try await Step(storage: storage, index: 0).respond(to: request, context: context)
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { storage.responder.bodyPolicy(for: head) }

    private final class Storage: Sendable {
        let middlewares: [any HTTPMiddleware]
        let responder: any Responder

        init(middlewares: [any HTTPMiddleware], responder: any Responder) {
            self.middlewares = middlewares
            self.responder = responder
        }
    }

    /// The chain from middleware `index` inward. A reference and an index: small enough to be
    /// passed as `any Responder` without a heap box per step.
    private struct Step: Responder {
        let storage: Storage
        let index: Int

        func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
            guard index < storage.middlewares.count else { return try await storage.responder.respond(to: request, context: context) }
            return try await storage.middlewares[index].respond(to: request, context: context,
                                                               next: Step(storage: storage, index: index + 1))
        }

        func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { storage.responder.bodyPolicy(for: head) }
    }
}

extension Responder {
    /// This responder wrapped in the standard middleware: request ids, access log, error mapping.
    public func withStandardMiddleware(logger: Logger) -> MiddlewareChain {
        MiddlewareChain([RequestIdMiddleware(), AccessLogMiddleware(logger: logger), ErrorMiddleware(logger: logger)],
                        responder: self)
    }
}
