import Logging

/// Writes one structured line per request when its response is done:
/// `{"msg":"request","method":"GET","path":"/healthz","status":200,"bytes":3,"duration_ms":0.12,"request_id":"…"}`.
/// For a streamed body the line is written after the last chunk, with the bytes actually produced.
/// Place it outside `ErrorMiddleware` so mapped errors are logged with their status.
public struct AccessLogMiddleware: HTTPMiddleware {
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        guard logger.isEnabled(.info) else { return try await next.respond(to: request, context: context) }
        let response: HTTPResponse
        do {
            response = try await next.respond(to: request, context: context)
        } catch {
            // Unmapped errors: the server answers 500 (or the error's own status).
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            log(request: request, context: context, status: status, bytes: 0)
            throw error
        }
        switch response.body {
        case .empty, .bytes:
            log(request: request, context: context, status: response.status, bytes: request.method == .head ? 0 : response.knownLength ?? 0)
            return response
        case .stream where request.method == .head:
            // The server sends HEAD responses without running the producer.
            log(request: request, context: context, status: response.status, bytes: 0)
            return response
        case .stream(let producer):
            var logged = response
            logged.body = .stream { [logger = self] writer in
                let counting = CountingBodyWriter(inner: writer)
                do {
                    try await producer(counting)
                    logger.log(request: request, context: context, status: response.status, bytes: counting.count)
                } catch {
                    logger.log(request: request, context: context, status: response.status, bytes: counting.count,
                               error: String(describing: error))
                    throw error
                }
            }
            return logged
        }
    }

    func log(request: HTTPRequest, context: RequestContext, status: HTTPStatus, bytes: Int, error: String? = nil) {
        let duration = ContinuousClock.now - context.arrivalTime
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        var fields: [(String, LogValue)] = [
            ("method", .string(request.method.rawValue)), ("path", .string(request.path)), ("status", .int(status.code)),
            ("bytes", .int(bytes)), ("duration_ms", .double((milliseconds * 1000).rounded() / 1000)),
            ("request_id", .string(context.requestId)),
        ]
        if let peer = context.peerAddress { fields.append(("peer", .string(peer.description))) }
        if let error { fields.append(("error", .string(error))) }
        logger.log(.info, "request", fields: fields)
    }
}
