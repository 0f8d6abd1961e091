/// Routes requests by method and path pattern (a `PathTrie`: `{name}` segments, literals before
/// parameters) to responders, answering 404 for an unknown path and 405 with `Allow` for a known
/// path with another method. HEAD is served by the GET handler when no HEAD route exists (the server
/// drops the body). Parameters are available as `request.pathParameters["name"]`.
///
/// ```swift
/// var router = Router()
/// router.get("/healthz") { _, _ in .text("ok\n") }
/// router.post("/v1/models/{name}/versions/{v}/features") { request, context in … }
/// router.put("/v1/models/{name}/weights", body: .streaming(maxSize: 4 << 30)) { request, context in … }
/// ```
public struct Router: Responder {
    /// A registered route.
    struct Route: Sendable {
        let bodyPolicy: HTTPBodyPolicy
        let responder: any Responder
    }

    private var routes = PathTrie<Route>()

    public init() {}

    // MARK: - Registration

    /// Registers `responder` for `method` and `pattern`. Registering the same method and pattern
    /// twice is a programming error.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, body: HTTPBodyPolicy = .buffered(), responder: any Responder) {
        routes.insert(method, pattern, Route(bodyPolicy: body, responder: responder))
    }

    /// Registers a closure for `method` and `pattern`.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, body: HTTPBodyPolicy = .buffered(),
                             _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(method, pattern, body: body, responder: ResponderFunction(handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.get, pattern, handler)
    }

    public mutating func post(_ pattern: String, body: HTTPBodyPolicy = .buffered(),
                              _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.post, pattern, body: body, handler)
    }

    public mutating func put(_ pattern: String, body: HTTPBodyPolicy = .buffered(),
                             _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.put, pattern, body: body, handler)
    }

    public mutating func delete(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.delete, pattern, handler)
    }

    // MARK: - Responder

    public func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        switch routes.match(method: request.method, rawPath: request.head.rawPath) {
        case .found(let route, let parameters):
            return try await route.responder.respond(to: request.withPathParameters(parameters), context: context)
        case .methodNotAllowed(let allowed, _):
            throw Self.methodNotAllowed(request, allowed: allowed)
        case .notFound:
            throw Self.notFound(request)
        }
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        if case .found(let route, _) = routes.match(method: head.method, rawPath: head.rawPath) { return route.bodyPolicy }
        // Unknown routes get the default policy; their body is read and dropped before the 404.
        return .buffered()
    }

    /// The 405 for a known path and another method, with `Allow`.
    public static func methodNotAllowed(_ request: HTTPRequest, allowed: [HTTPMethod]) -> HTTPError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPError(.methodNotAllowed, "method \(request.method) is not allowed for \(request.path); allowed: \(list)",
                         headers: ["Allow": list])
    }

    /// The 404 for a path no route matches.
    public static func notFound(_ request: HTTPRequest) -> HTTPError {
        HTTPError(.notFound, "no route for \(request.method) \(request.path)")
    }
}
