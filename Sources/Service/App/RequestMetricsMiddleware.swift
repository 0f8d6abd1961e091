import HTTP

/// Counts every request in the service metrics when its response ends: by model, endpoint and
/// status, with its duration and body bytes; and the in-flight gauge while it runs. Sits outside
/// `ErrorMiddleware`, so mapped errors count with their status.
///
/// One instance per route (`ServiceRouter`), so the endpoint name is known without looking at the
/// path. The model label is the model the path names only once the service has found that name in the
/// registry; unknown names count as `-`, so probing random names cannot grow the label set.
struct RequestMetricsMiddleware: HTTPMiddleware {
    let metrics: ServiceMetrics
    let manager: ModelManager
    /// The route's name in `ServiceRoute.table` (`other` for requests no route matches).
    let endpoint: String
    /// The path parameter naming the model, if the route has one.
    let modelParameter: String?

    func respond(to request: HTTPRequest, context: RequestContext, next: any Responder) async throws -> HTTPResponse {
        let model = modelParameter.flatMap { request.pathParameters[$0] }
        metrics.requestStarted()
        let response: HTTPResponse
        do {
            response = try await next.respond(to: request, context: context)
        } catch {
            finish(model, context: context, status: (error as? any HTTPResponseError)?.status.code ?? 500, bytes: 0)
            throw error
        }
        switch response.body {
        case .empty:
            finish(model, context: context, status: response.status.code, bytes: 0)
            return response
        case .bytes(let bytes):
            finish(model, context: context, status: response.status.code, bytes: request.method == .head ? 0 : bytes.count)
            return response
        case .stream where request.method == .head:
            finish(model, context: context, status: response.status.code, bytes: 0)
            return response
        case .stream(let producer):
            var counted = response
            counted.body = .stream { writer in
                let counting = CountingBodyWriter(inner: writer)
                defer { finish(model, context: context, status: response.status.code, bytes: counting.count) }
                try await producer(counting)
            }
            return counted
        }
    }

    private func finish(_ model: String?, context: RequestContext, status: Int, bytes: Int) {
        let model = model.flatMap { manager.isKnownModelName($0) ? $0 : nil }
        let elapsed = ContinuousClock.now - context.arrivalTime
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        metrics.requestFinished(model: model, endpoint: endpoint, status: status, seconds: seconds, responseBytes: bytes)
    }
}
