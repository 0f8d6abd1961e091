/// The request line and header section of one request, as validated by `HTTPRequestParser`.
public struct HTTPRequestHead: Sendable {
    /// How the body of the request is delimited.
    public enum BodyFraming: Sendable, Equatable {
        /// No body (no `Content-Length`, no `Transfer-Encoding`, or `Content-Length: 0`).
        case none
        /// Exactly this many bytes follow the head.
        case contentLength(Int)
        /// `Transfer-Encoding: chunked`.
        case chunked
    }

    /// The method token.
    public var method: HTTPMethod
    /// The request target exactly as sent (`/v1/models/a%20b?x=1`).
    public var target: String
    /// The path part of the target, still percent-encoded (`/v1/models/a%20b`); `*` for asterisk-form.
    public var rawPath: String
    /// The percent-decoded path (`/v1/models/a b`).
    public var path: String
    /// The query after `?`, still percent-encoded, or nil when the target has none.
    public var query: String?
    /// HTTP/1.0 or HTTP/1.1.
    public var version: HTTPVersion
    /// The header fields in arrival order.
    public var headers: HTTPHeaders
    /// How the body is delimited.
    public var bodyFraming: BodyFraming
    /// Whether the connection stays open after this exchange (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool
    /// Whether the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool

    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
                bodyFraming: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false) {
        self.method = method
        self.target = target
        let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        self.rawPath = String(target[..<(questionMark ?? target.endIndex)])
        self.query = questionMark.map { String(target[target.utf8.index(after: $0)...]) }
        self.path = (try? percentDecoded(rawPath, plusIsSpace: false)) ?? rawPath
        self.version = version
        self.headers = headers
        self.bodyFraming = bodyFraming
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
    }

    init(method: HTTPMethod, target: String, rawPath: String, path: String, query: String?, version: HTTPVersion,
         headers: HTTPHeaders, bodyFraming: BodyFraming, keepAlive: Bool, expectsContinue: Bool) {
        self.method = method
        self.target = target
        self.rawPath = rawPath
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.bodyFraming = bodyFraming
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
    }

    /// The query parameters in order, percent-decoded with `+` as space (`a=1&b=x+y` → `[("a","1"), ("b","x y")]`).
    /// A parameter without `=` has an empty value.
    public var queryParameters: [QueryParameter] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let equals = pair.firstIndex(of: "=")
            let name = pair[..<(equals ?? pair.endIndex)]
            let value = equals.map { pair[pair.index(after: $0)...] } ?? ""
            return QueryParameter(name: (try? percentDecoded(name, plusIsSpace: true)) ?? String(name),
                                  value: (try? percentDecoded(value, plusIsSpace: true)) ?? String(value))
        }
    }

    /// The first value of query parameter `name`, decoded.
    public func queryValue(named name: String) -> String? {
        queryParameters.first { $0.name == name }?.value
    }
}
