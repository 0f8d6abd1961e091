import HTTP

/// A request body that parsed but does not say something valid: which field, what was expected.
/// Answered as 400 (or the status given, e.g. 413 for a response that would be too large).
public struct RequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The dotted path of the offending field (`inputs.input.shape[2]`), or `$` for the body.
    public var field: String
    /// What is wrong and what was expected.
    public var problem: String
    public var status: HTTPStatus
    public var errorType: String

    /// `errorType` defaults to the status's (`bad_request`, `request_too_large`; openapi.yaml's list).
    public init(field: String, _ problem: String, status: HTTPStatus = .badRequest, errorType: String? = nil) {
        self.field = field
        self.problem = problem
        self.status = status
        self.errorType = errorType ?? HTTPError.defaultErrorType(for: status)
    }

    public var description: String { field == "$" ? problem : "\(field): \(problem)" }
}

extension RequestError: HTTPResponseError {
    public var message: String { description }
}

/// The JSON body of a request could not even be read: wraps the parser's error for the HTTP layer.
extension RequestError {
    init(_ error: JSONParseError) {
        self.init(field: JSONPathComponent.describe(error.path), error.description, status: error.status, errorType: error.errorType)
    }
}
