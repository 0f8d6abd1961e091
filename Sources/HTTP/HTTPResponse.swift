import Logging

/// A response a `Responder` returns: status, headers and a body that is either complete (sent with
/// `Content-Length`) or produced while it is sent (`Transfer-Encoding: chunked`).
///
/// The server adds `Date`, `Server`, `Content-Length`/`Transfer-Encoding`, `Connection` and
/// `X-Request-Id` when absent; HEAD responses keep the headers and drop the body.
public struct HTTPResponse: Sendable {
    /// The body of a response.
    public enum Body: Sendable {
        /// No body (`Content-Length: 0`).
        case empty
        /// The complete body.
        case bytes([UInt8])
        /// A body written by `producer` while it is sent, with backpressure: each `write` suspends
        /// while the client is behind. Sent chunked unless the headers carry `Content-Length`, in
        /// which case exactly that many bytes must be written.
        case stream(@Sendable (any HTTPBodyWriter) async throws -> Void)
    }

    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A complete body with a content type.
    public init(status: HTTPStatus = .ok, contentType: String, body: [UInt8], headers: HTTPHeaders = [:]) {
        var merged: HTTPHeaders
        if headers.isEmpty {
            // Room for what middleware adds (X-Request-Id) without growing.
            merged = HTTPHeaders(capacity: 4)
            merged.add(name: "Content-Type", value: contentType)
        } else {
            merged = headers
            merged.replaceOrAdd(name: "Content-Type", value: contentType)
        }
        self.init(status: status, headers: merged, body: .bytes(body))
    }

    /// `text/plain; charset=utf-8`.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    /// `application/json` from already-encoded JSON.
    public static func json(_ json: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: Array(json.utf8))
    }

    /// `application/json` from already-encoded JSON bytes.
    public static func json(bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: bytes)
    }

    /// A chunked streamed body with a content type.
    public static func stream(status: HTTPStatus = .ok, contentType: String, headers: HTTPHeaders = [:],
                              _ producer: @escaping @Sendable (any HTTPBodyWriter) async throws -> Void) -> HTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: contentType)
        return HTTPResponse(status: status, headers: headers, body: .stream(producer))
    }

    /// The API's error shape (openapi.yaml's Error): `{"error": "<message>", "error_type": "<kind>"}`.
    public static func error(status: HTTPStatus, message: String, errorType: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var json = "{\"error\":"
        appendJSONString(message, to: &json)
        json += ",\"error_type\":"
        appendJSONString(errorType, to: &json)
        json += "}"
        return HTTPResponse(status: status, contentType: "application/json", body: Array(json.utf8), headers: headers)
    }

    /// The response for an error that escaped a handler: its own status and message when it is an
    /// `HTTPResponseError`, otherwise a 500 that names the request id (the details go to the log only).
    public static func forError(_ error: any Error, requestId: String) -> HTTPResponse {
        if let error = error as? any HTTPResponseError {
            return .error(status: error.status, message: error.message, errorType: error.errorType, headers: error.headers)
        }
        return .error(status: .internalServerError, message: "internal server error (request id \(requestId))", errorType: "internal")
    }

    // MARK: - Testing without sockets

    /// The body bytes: the buffer, or everything a streamed body writes (for tests of routes).
    public func collectBody() async throws -> [UInt8] {
        switch body {
        case .empty: return []
        case .bytes(let bytes): return bytes
        case .stream(let producer):
            let writer = CollectingBodyWriter()
            try await producer(writer)
            return writer.bytes
        }
    }

    /// The body's byte count when it is known before sending.
    var knownLength: Int? {
        switch body {
        case .empty: 0
        case .bytes(let bytes): bytes.count
        case .stream: nil
        }
    }
}
