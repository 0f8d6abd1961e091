import HTTP
import Logging

/// The service's responder: matches a request against `ServiceRoute.table` once (a `PathTrie`)
/// and runs the matched route's own chain around its handler — request metrics under the route's
/// name, error mapping, domain-error mapping, authorization with the route's scope. Nothing after
/// the match walks the path again.
///
/// A request no route matches runs the same chain under the name `other`: a known path with another
/// method (405 with `Allow`) needs the least scope among that path's routes (so `POST /healthz`
/// stays open), an unknown path (404) the `infer` scope.
struct ServiceRouter: Responder {
    /// A table entry with what running it needs.
    private struct Bound: Sendable {
        let route: ServiceRoute
        let bodyPolicy: HTTPBodyPolicy
        let chain: MiddlewareChain
    }

    private var routes = PathTrie<Bound>()
    private let metrics: ServiceMetrics
    private let manager: ModelManager
    private let accessControl: AccessControl
    private let logger: Logger

    init(table: [ServiceRoute], endpoints: ServiceEndpoints, maxUploadBytes: Int, metrics: ServiceMetrics, manager: ModelManager,
         accessControl: AccessControl, logger: Logger) {
        self.metrics = metrics
        self.manager = manager
        self.accessControl = accessControl
        self.logger = logger
        for route in table {
            let handler = route.handler
            let responder = ResponderFunction { request, context in try await handler(endpoints, request, context) }
            let policy: HTTPBodyPolicy = switch route.body {
            case .buffered: .buffered()
            case .upload: .streaming(maxSize: maxUploadBytes)
            }
            self.routes.insert(route.method, route.pattern,
                          Bound(route: route, bodyPolicy: policy,
                                chain: chain(route.endpoint, scope: route.scope, modelParameter: route.modelParameter, responder: responder)))
        }
    }

    func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        switch routes.match(method: request.method, rawPath: request.head.rawPath) {
        case .found(let bound, let parameters):
            return try await bound.chain.respond(to: request.withPathParameters(parameters), context: context)
        case .methodNotAllowed(let allowed, let bounds):
            let scopes = bounds.map(\.route.scope)
            let scope: AccessScope? = scopes.contains(nil) ? nil : scopes.contains(.infer) ? .infer : .admin
            let error = Router.methodNotAllowed(request, allowed: allowed)
            return try await unmatched(scope: scope, error: error).respond(to: request, context: context)
        case .notFound:
            return try await unmatched(scope: .infer, error: Router.notFound(request)).respond(to: request, context: context)
        }
    }

    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        if case .found(let bound, _) = routes.match(method: head.method, rawPath: head.rawPath) { return bound.bodyPolicy }
        // Unknown routes get the default policy; their body is read and dropped before the 404.
        return .buffered()
    }

    private func unmatched(scope: AccessScope?, error: HTTPError) -> MiddlewareChain {
        chain("other", scope: scope, modelParameter: nil, responder: ResponderFunction { _, _ in throw error })
    }

    /// Metrics outside error mapping (mapped errors count with their status), authorization inside.
    private func chain(_ endpoint: String, scope: AccessScope?, modelParameter: String?, responder: any Responder) -> MiddlewareChain {
        MiddlewareChain([
            RequestMetricsMiddleware(metrics: metrics, manager: manager, endpoint: endpoint, modelParameter: modelParameter),
            ErrorMiddleware(logger: logger), DomainErrorMiddleware(), AuthenticationMiddleware(accessControl: accessControl, scope: scope),
        ], responder: responder)
    }
}
