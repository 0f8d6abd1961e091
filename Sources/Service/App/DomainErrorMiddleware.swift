import HTTP

/// Maps domain errors thrown by the handlers inside it to their HTTP errors (`DomainErrorMapping`);
/// sits inside `ErrorMiddleware`, which turns them into responses.
struct DomainErrorMiddleware: HTTPMiddleware {
    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        do {
            return try await next.respond(to: request, context: context)
        } catch {
            throw DomainErrorMapping.httpError(for: error) ?? error
        }
    }
}
