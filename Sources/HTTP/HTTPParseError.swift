/// Why a request was rejected by `HTTPRequestParser`: each case names the offending part and maps to
/// the status the server answers with before closing the connection.
public enum HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request line is not `method SP request-target SP HTTP-version`.
    case invalidRequestLine(String)
    /// The request target is not origin-form, absolute-form or `*` (or has a bad percent-escape).
    case invalidTarget(String)
    /// The version is well formed but not HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion(String)
    /// The request line alone is longer than `maxRequestLineSize`.
    case requestLineTooLong(limit: Int)
    /// The request line plus headers (or the trailers) exceed `maxHeadSize`.
    case headTooLarge(limit: Int)
    /// More header (or trailer) fields than `maxHeaderCount`.
    case tooManyHeaders(limit: Int)
    /// A header line is malformed: which one and why.
    case invalidHeader(String)
    /// A header line starts with whitespace (obsolete line folding, rejected per RFC 9112 §5.2).
    case obsoleteLineFolding
    /// HTTP/1.1 without exactly one `Host`, or more than one `Host` in HTTP/1.0.
    case invalidHost(String)
    /// `Content-Length` is not a single non-negative decimal (or repeated with different values).
    case invalidContentLength(String)
    /// Both `Content-Length` and `Transfer-Encoding` (a request-smuggling vector).
    case conflictingFraming
    /// `Transfer-Encoding` that does not end in a single `chunked`, or sent with HTTP/1.0.
    case invalidTransferEncoding(String)
    /// A transfer coding other than `chunked` (answered 501).
    case unsupportedTransferCoding(String)
    /// Chunked framing is broken: which part and why.
    case invalidChunk(String)
    /// The body exceeds the limit in force for the request.
    case bodyTooLarge(limit: Int)
    /// An `Expect` other than `100-continue`.
    case unsupportedExpectation(String)

    /// The response status for this error.
    public var status: HTTPStatus {
        switch self {
        case .unsupportedVersion: .httpVersionNotSupported
        case .requestLineTooLong: .uriTooLong
        case .headTooLarge, .tooManyHeaders: .requestHeaderFieldsTooLarge
        case .unsupportedTransferCoding: .notImplemented
        case .bodyTooLarge: .contentTooLarge
        case .unsupportedExpectation: .expectationFailed
        default: .badRequest
        }
    }

    public var description: String {
        switch self {
        case .invalidRequestLine(let reason): "invalid request line: \(reason)"
        case .invalidTarget(let reason): "invalid request target: \(reason)"
        case .unsupportedVersion(let version): "unsupported HTTP version '\(version)': expected HTTP/1.0 or HTTP/1.1"
        case .requestLineTooLong(let limit): "request line longer than \(limit) bytes"
        case .headTooLarge(let limit): "request header section larger than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .invalidHeader(let reason): "invalid header field: \(reason)"
        case .obsoleteLineFolding: "obsolete line folding (a header line starting with whitespace) is not accepted"
        case .invalidHost(let reason): "invalid Host header: \(reason)"
        case .invalidContentLength(let value): "invalid Content-Length '\(value)': expected one non-negative decimal integer"
        case .conflictingFraming: "both Content-Length and Transfer-Encoding are present"
        case .invalidTransferEncoding(let value): "invalid Transfer-Encoding '\(value)': expected 'chunked' (HTTP/1.1 only)"
        case .unsupportedTransferCoding(let value): "unsupported transfer coding '\(value)': only 'chunked' is implemented"
        case .invalidChunk(let reason): "invalid chunked body: \(reason)"
        case .bodyTooLarge(let limit): "request body larger than \(limit) bytes"
        case .unsupportedExpectation(let value): "unsupported Expect '\(value)': only '100-continue' is supported"
        }
    }

    /// A short machine-readable kind for the JSON error body.
    public var errorType: String {
        switch status.code {
        case 413: "request_too_large"
        case 414: "uri_too_long"
        case 417: "expectation_failed"
        case 431: "headers_too_large"
        case 501: "not_implemented"
        case 505: "version_not_supported"
        default: "bad_request"
        }
    }
}
