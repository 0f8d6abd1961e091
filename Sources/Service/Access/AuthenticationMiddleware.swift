import HTTP

/// Enforces `AccessControl` for one route (or the unmatched answers) before its handler: the scope
/// comes from the route table (`ServiceRoute.table`).
struct AuthenticationMiddleware: HTTPMiddleware {
    let accessControl: AccessControl
    let scope: AccessScope?

    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        try accessControl.authorize(request.headers, scope: scope)
        return try await next.respond(to: request, context: context)
    }
}
