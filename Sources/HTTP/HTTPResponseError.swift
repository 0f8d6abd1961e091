/// An error that knows how it is answered over HTTP: thrown from a handler, it becomes a response
/// with this status and the JSON body `{"error": message, "error_type": errorType}`.
/// Each domain's error enum (registry, service validation, …) conforms to carry its status.
public protocol HTTPResponseError: Error {
    /// The status to answer with.
    var status: HTTPStatus { get }
    /// The human-readable message (which field, what was expected).
    var message: String { get }
    /// A short machine-readable kind, e.g. `"bad_request"`, `"queue_full"`.
    var errorType: String { get }
    /// Extra response headers, e.g. `Retry-After` for 429, `Allow` for 405.
    var headers: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var message: String { String(describing: self) }
    public var errorType: String { HTTPError.defaultErrorType(for: status) }
    public var headers: HTTPHeaders { HTTPHeaders() }
}

extension HTTPParseError: HTTPResponseError {
    public var message: String { description }
}
