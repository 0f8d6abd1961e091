/// A general error with an HTTP status, for handlers that do not need their own error enum.
public struct HTTPError: HTTPResponseError, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let message: String
    public let errorType: String
    public let headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String, errorType: String? = nil, headers: HTTPHeaders = [:]) {
        self.status = status
        self.message = message
        self.errorType = errorType ?? HTTPError.defaultErrorType(for: status)
        self.headers = headers
    }

    public var description: String { "\(status.code) \(errorType): \(message)" }

    /// 413 for a body over `limit` bytes.
    public static func contentTooLarge(limit: Int) -> HTTPError {
        HTTPError(.contentTooLarge, "request body larger than \(limit) bytes")
    }

    /// The client disconnected before the response could be written.
    public static let clientDisconnected = HTTPError(HTTPStatus(code: 499, reasonPhrase: "Client Closed Request"),
                                                     "the client closed the connection", errorType: "client_disconnected")

    /// The `error_type` used when a thrower does not choose one.
    public static func defaultErrorType(for status: HTTPStatus) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 408: "request_timeout"
        case 409: "conflict"
        case 413: "request_too_large"
        case 415: "unsupported_media_type"
        case 422: "unprocessable"
        case 429: "queue_full"
        case 431: "headers_too_large"
        case 500: "internal"
        case 501: "not_implemented"
        case 503: "unavailable"
        case 504: "deadline_exceeded"
        default: status.code < 500 ? "client_error" : "server_error"
        }
    }
}
