import HTTP

/// One route of the service, declared once in `ServiceRoute.table`: its method and path pattern,
/// the scope access control requires, the name metrics count it under, the statuses it can
/// answer, how its body is read, and its handler. Routing (`ServiceRouter`), authorization,
/// metrics labels and the check of `openapi.yaml` (`OpenAPIRouteTests`) all read the table.
struct ServiceRoute: Sendable {
    /// How a route's body is read.
    enum Body: Sendable {
        /// Buffered up to the server's `http.max_body_bytes`.
        case buffered
        /// Streamed to the handler up to `http.max_upload_bytes` (model uploads).
        case upload
    }

    typealias Handler = @Sendable (ServiceEndpoints, HTTPRequest, RequestContext) async throws -> HTTPResponse

    let method: HTTPMethod
    let pattern: String
    /// The metrics name (`features`, `v2_infer`, `model_load`, …); versioned twins share it.
    let endpoint: String
    /// The scope the request needs; nil for the open endpoints (health, metrics, the Inspector).
    let scope: AccessScope?
    /// What the handler itself answers (successes and its own errors); `statuses` adds what every
    /// route or every route of its kind can answer.
    let answers: Set<Int>
    /// Whether a request deadline (`X-Request-Timeout-Ms`) applies: it can answer 504.
    let deadline: Bool
    let body: Body
    let handler: Handler

    init(_ method: HTTPMethod, _ pattern: String, _ endpoint: String, scope: AccessScope?, answers: Set<Int>,
         deadline: Bool = false, body: Body = .buffered, handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.endpoint = endpoint
        self.scope = scope
        self.answers = answers
        self.deadline = deadline
        self.body = body
        self.handler = handler
    }

    /// Every status the route can answer: its own, 413, 414 and 431 (the HTTP layer's limits on
    /// body, request line and headers apply to every route), 401 and 403 where a scope is needed,
    /// 504 where a deadline applies. `openapi.yaml` documents exactly these.
    var statuses: Set<Int> {
        var statuses = answers.union([413, 414, 431])
        if scope != nil { statuses.formUnion([401, 403]) }
        if deadline { statuses.insert(504) }
        return statuses
    }

    /// The path parameter that names a model (`name` in `/v1`, `model` in `/v2`), if any: the
    /// metrics' model label.
    var modelParameter: String? {
        if pattern.contains("{name}") { return "name" }
        if pattern.contains("{model}") { return "model" }
        return nil
    }
}
