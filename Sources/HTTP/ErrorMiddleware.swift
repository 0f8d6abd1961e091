import Logging

/// Turns a thrown error into a response: an `HTTPResponseError` becomes its status with the JSON
/// body `{"error": …, "error_type": …}`; any other error becomes a 500 that names the request id,
/// and its details are logged (never sent to the client).
public struct ErrorMiddleware: HTTPMiddleware {
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        do {
            return try await next.respond(to: request, context: context)
        } catch {
            if !(error is any HTTPResponseError) {
                logger.error("unhandled error", ["request_id": .string(context.requestId), "method": .string(request.method.rawValue),
                                                 "path": .string(request.path), "error": .string(String(describing: error))])
            }
            return HTTPResponse.forError(error, requestId: context.requestId)
        }
    }
}
