/// A request as handed to a `Responder`: the validated head, the body (buffered or streaming, per
/// the route's `HTTPBodyPolicy`), and the path parameters the router matched.
public struct HTTPRequest: Sendable {
    /// Request line and headers.
    public var head: HTTPRequestHead
    /// The body: all bytes for buffered routes, a stream of chunks for streaming ones.
    public var body: HTTPRequestBody
    /// Percent-decoded values of the `{name}` segments of the matched route pattern.
    public var pathParameters: [String: String]

    public init(head: HTTPRequestHead, body: HTTPRequestBody = .empty, pathParameters: [String: String] = [:]) {
        self.head = head
        self.body = body
        self.pathParameters = pathParameters
    }

    /// A request built in code, for testing routes without sockets.
    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        var headers = headers
        if !body.isEmpty && !headers.contains("content-length") {
            headers.add(name: "Content-Length", value: String(body.count))
        }
        self.init(head: HTTPRequestHead(method: method, target: target, headers: headers,
                                        bodyFraming: body.isEmpty ? .none : .contentLength(body.count)),
                  body: HTTPRequestBody(bytes: body))
    }

    // MARK: - Conveniences

    public var method: HTTPMethod { head.method }
    /// The percent-decoded path.
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }

    /// This request with the path parameters a route matched (itself when there are none).
    public func withPathParameters(_ parameters: [String: String]) -> HTTPRequest {
        guard !parameters.isEmpty else { return self }
        var request = self
        request.pathParameters = parameters
        return request
    }

    /// The value of path parameter `name`; a missing one is a programming error in the route table.
    public func pathParameter(_ name: String) -> String {
        guard let value = pathParameters[name] else {
            preconditionFailure("route has no path parameter '\(name)' (parameters: \(pathParameters.keys.sorted()))")
        }
        return value
    }
}
