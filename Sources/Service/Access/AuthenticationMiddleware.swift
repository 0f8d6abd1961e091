import HTTP

/// Enforces `AccessControl` before routing: each request's scope comes from `ServiceRoute`.
struct AuthenticationMiddleware: HTTPMiddleware {
    let accessControl: AccessControl

    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        let route = ServiceRoute.classify(method: request.method, path: request.path)
        try accessControl.authorize(request.headers, scope: route.scope)
        return try await next.respond(to: request, context: context)
    }
}
