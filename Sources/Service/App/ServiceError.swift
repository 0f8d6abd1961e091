import HTTP

/// Why the service refused or could not finish a request, with the HTTP status each answer gets
/// (openapi.yaml's list). Domain errors of other layers (`RegistryError`, `ModelError`,
/// `CaptureError`, `RequestError`) carry their own statuses through extensions.
public enum ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request queue is full; retry after `retryAfterSeconds`.
    case queueFull(capacity: Int, retryAfterSeconds: Int)
    /// The pre-processing stage is full (every one of its `threads` busy, `capacity` requests
    /// waiting); retry after `retryAfterSeconds`.
    case preprocessingFull(capacity: Int, threads: Int, retryAfterSeconds: Int)
    /// The request's deadline passed before its result was ready.
    case deadlineExceeded(milliseconds: Int)
    /// The client closed the connection before its job ran (the job was dropped).
    case clientDisconnected
    /// The service is shutting down.
    case shuttingDown
    /// The model version is not loaded (unloaded, or being unloaded or removed).
    case modelUnavailable(name: String, version: Int, reason: String)
    /// The model version failed to load.
    case modelFailed(name: String, version: Int, reason: String)
    /// The model was removed while the request waited.
    case modelRemoved(name: String, version: Int)
    /// The request conflicts with the model's state (removing a version that is loading, …).
    case conflict(String)
    /// The body's media type is not one the operation takes.
    case unsupportedMediaType(String, expected: [String])
    /// The response would be larger than `max_response_bytes`.
    case responseTooLarge(bytes: Int, limit: Int)
    /// A request header has a bad value.
    case invalidHeader(name: String, problem: String)
    /// A path or query parameter has a bad value.
    case invalidParameter(name: String, problem: String)
    /// The endpoint is disabled by configuration (with the reason and what would enable it).
    case disabled(String)

    public var description: String {
        switch self {
        case .queueFull(let capacity, let seconds):
            "the request queue is full (\(capacity) jobs waiting); retry after \(seconds) s"
        case .preprocessingFull(let capacity, let threads, let seconds):
            "the pre-processing stage is full (\(threads) requests being parsed, decoded or tokenized, \(capacity) waiting); retry after \(seconds) s"
        case .deadlineExceeded(let milliseconds):
            "the request's deadline (\(milliseconds) ms) passed before its result was ready"
        case .clientDisconnected:
            "the client closed the connection before the job ran"
        case .shuttingDown:
            "the server is shutting down"
        case .modelUnavailable(let name, let version, let reason):
            "model '\(name)' version \(version) is not loaded (\(reason)); POST /v1/models/\(name)/load?version=\(version) loads it"
        case .modelFailed(let name, let version, let reason):
            "model '\(name)' version \(version) failed to load: \(reason); POST /v1/models/\(name)/load?version=\(version) retries"
        case .modelRemoved(let name, let version):
            "model '\(name)' version \(version) was removed"
        case .conflict(let message):
            message
        case .unsupportedMediaType(let type, let expected):
            "content type '\(type)' is not accepted here; expected " + expected.joined(separator: " or ")
        case .responseTooLarge(let bytes, let limit):
            "the response would take up to \(bytes) bytes, above max_response_bytes (\(limit)); request fewer layers, pooling, float16 or base64"
        case .invalidHeader(let name, let problem):
            "header \(name): \(problem)"
        case .invalidParameter(let name, let problem):
            "parameter '\(name)': \(problem)"
        case .disabled(let message):
            message
        }
    }
}

extension ServiceError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .queueFull, .preprocessingFull: .tooManyRequests
        case .deadlineExceeded: .gatewayTimeout
        case .clientDisconnected: HTTPError.clientDisconnected.status
        case .shuttingDown, .modelUnavailable, .modelFailed: .serviceUnavailable
        case .modelRemoved: .notFound
        case .conflict: .conflict
        case .unsupportedMediaType: .unsupportedMediaType
        case .responseTooLarge: .contentTooLarge
        case .invalidHeader, .invalidParameter: .badRequest
        case .disabled: HTTPStatus(code: 403)
        }
    }

    public var message: String { description }

    public var errorType: String {
        switch self {
        case .preprocessingFull: "preprocessing_full"
        case .responseTooLarge: "response_too_large"
        case .clientDisconnected: "client_disconnected"
        case .modelFailed: "model_failed"
        case .disabled: "admin_disabled"
        default: HTTPError.defaultErrorType(for: status)
        }
    }

    public var headers: HTTPHeaders {
        switch self {
        case .queueFull(_, let seconds), .preprocessingFull(_, _, let seconds): ["Retry-After": String(seconds)]
        default: HTTPHeaders()
        }
    }
}
