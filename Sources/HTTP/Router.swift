/// Routes requests by method and path pattern to handlers, answering 404 for an unknown path and
/// 405 with `Allow` for a known path with another method. HEAD is served by the GET handler when no
/// HEAD route exists (the server drops the body).
///
/// Patterns are `/`-separated segments; `{name}` matches one segment (percent-decoded, so `%2F`
/// stays inside it) and is available as `request.pathParameters["name"]`. Literal segments win over
/// parameters: `/v2/models/{m}/ready` and `/v2/models/{m}/versions/{v}` coexist. Empty segments are
/// ignored, so `/healthz/` matches `/healthz`.
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
        let pattern: String
        let parameterNames: [String]
        let bodyPolicy: HTTPBodyPolicy
        let responder: any Responder
    }

    /// A node of the segment trie; children are indices into `nodes`. Small arrays searched
    /// linearly beat hashing here: a node has a handful of children and methods.
    private struct Node: Sendable {
        var literals: [(segment: String, node: Int)] = []
        var parameter: Int?
        var routes: [(method: HTTPMethod, route: Route)] = []

        func literal(_ segment: Substring) -> Int? {
            for entry in literals where entry.segment.utf8.elementsEqual(segment.utf8) { return entry.node }
            return nil
        }

        func route(_ method: HTTPMethod) -> Route? {
            for entry in routes where entry.method == method { return entry.route }
            return nil
        }
    }

    private var nodes = [Node()]

    public init() {}

    // MARK: - Registration

    /// Registers `responder` for `method` and `pattern`. Registering the same method and pattern
    /// twice is a programming error.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, body: HTTPBodyPolicy = .buffered(), responder: any Responder) {
        var node = 0
        var parameterNames: [String] = []
        for segment in pattern.split(separator: "/") {
            if segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2 {
                let name = String(segment.dropFirst().dropLast())
                precondition(!parameterNames.contains(name), "route '\(pattern)' repeats parameter '\(name)'")
                parameterNames.append(name)
                if let next = nodes[node].parameter {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].parameter = nodes.count - 1
                    node = nodes.count - 1
                }
            } else {
                precondition(!segment.contains("{") && !segment.contains("}"), "route '\(pattern)': malformed segment '\(segment)'")
                if let next = nodes[node].literal(segment) {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].literals.append((String(segment), nodes.count - 1))
                    node = nodes.count - 1
                }
            }
        }
        precondition(nodes[node].route(method) == nil, "route \(method) '\(pattern)' registered twice")
        nodes[node].routes.append((method, Route(pattern: pattern, parameterNames: parameterNames, bodyPolicy: body, responder: responder)))
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

    // MARK: - Matching

    /// The outcome of matching a method and path.
    enum Match {
        case found(route: Route, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    func match(method: HTTPMethod, rawPath: String) -> Match {
        // Split on the UTF-8 bytes ('/' is never part of a multi-byte character).
        var segments: [Substring] = []
        segments.reserveCapacity(8)
        let utf8 = rawPath.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                if index != start { segments.append(rawPath[start..<index]) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if start != utf8.endIndex { segments.append(rawPath[start..<utf8.endIndex]) }
        var values: [Substring] = []
        guard let node = find(node: 0, segments: segments[...], values: &values) else { return .notFound }
        let found = nodes[node]
        guard let route = found.route(method) ?? (method == .head ? found.route(.get) : nil) else {
            var allowed = Set(found.routes.map(\.method))
            if allowed.contains(.get) { allowed.insert(.head) }
            return .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue })
        }
        var parameters: [String: String] = [:]
        for (name, value) in zip(route.parameterNames, values) {
            parameters[name] = (try? percentDecoded(value, plusIsSpace: false)) ?? String(value)
        }
        return .found(route: route, parameters: parameters)
    }

    /// Depth-first over the trie, literals before parameters; the first node that matches the
    /// whole path and has any route wins. `values` collects the parameter segments on the way.
    private func find(node: Int, segments: ArraySlice<Substring>, values: inout [Substring]) -> Int? {
        guard let segment = segments.first else { return nodes[node].routes.isEmpty ? nil : node }
        let rest = segments.dropFirst()
        // Literal segments are compared raw (still encoded): patterns only hold unreserved characters.
        if let next = nodes[node].literal(segment), let found = find(node: next, segments: rest, values: &values) {
            return found
        }
        if let next = nodes[node].parameter {
            values.append(segment)
            if let found = find(node: next, segments: rest, values: &values) { return found }
            values.removeLast()
        }
        return nil
    }

    // MARK: - Responder

    public func respond(to request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        switch match(method: request.method, rawPath: request.head.rawPath) {
        case .found(let route, let parameters):
            guard !parameters.isEmpty else { return try await route.responder.respond(to: request, context: context) }
            var request = request
            request.pathParameters = parameters
            return try await route.responder.respond(to: request, context: context)
        case .methodNotAllowed(let allowed):
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            throw HTTPError(.methodNotAllowed, "method \(request.method) is not allowed for \(request.path); allowed: \(list)",
                            headers: ["Allow": list])
        case .notFound:
            throw HTTPError(.notFound, "no route for \(request.method) \(request.path)")
        }
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        if case .found(let route, _) = match(method: head.method, rawPath: head.rawPath) { return route.bodyPolicy }
        // Unknown routes get the default policy; their body is read and dropped before the 404.
        return .buffered()
    }
}
