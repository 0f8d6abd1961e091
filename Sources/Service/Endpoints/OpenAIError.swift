import HTTP

/// OpenAI's error envelope, for the OpenAI-compatible routes: the error a handler throws, answered
/// with the same status as anywhere else in the API but the body
/// `{"error": {"message", "type", "param", "code"}}` that OpenAI clients parse.
///
/// `type` is `invalid_request_error` for 4xx and `server_error` for 5xx (OpenAI's kinds); `code`
/// is Periscope's `error_type`; `param` is the offending field, or null.
struct OpenAIError: Error {
    let status: HTTPStatus
    let message: String
    let param: String?
    let code: String
    let headers: HTTPHeaders

    /// The envelope for `error`, or nil when it is not an answerable error (then it stays a 500
    /// naming the request id, from `ErrorMiddleware`).
    init?(_ error: any Error) {
        switch error {
        case let error as RequestError:
            self.init(status: error.status, message: error.problem, param: error.field == "$" ? nil : error.field,
                      code: error.errorType, headers: HTTPHeaders())
        case let error as any HTTPResponseError:
            self.init(status: error.status, message: error.message, param: nil, code: error.errorType, headers: error.headers)
        default:
            guard let mapped = DomainErrorMapping.httpError(for: error) else { return nil }
            self.init(status: mapped.status, message: mapped.message, param: nil, code: mapped.errorType, headers: mapped.headers)
        }
    }

    private init(status: HTTPStatus, message: String, param: String?, code: String, headers: HTTPHeaders) {
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers
    }

    /// Runs `handler`, answering what it throws in OpenAI's envelope.
    static func answering(_ handler: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        do {
            return try await handler()
        } catch {
            guard let envelope = OpenAIError(error) else { throw error }
            return envelope.response
        }
    }

    var response: HTTPResponse {
        let buffer = JSONOutputBuffer(capacity: 256)
        buffer.append(raw: #"{"error":{"message":"#)
        buffer.append(string: message)
        buffer.append(raw: #","type":"#)
        buffer.append(string: status.code >= 500 ? "server_error" : "invalid_request_error")
        buffer.append(raw: #","param":"#)
        if let param { buffer.append(string: param) } else { buffer.append(raw: "null") }
        buffer.append(raw: #","code":"#)
        buffer.append(string: code)
        buffer.append(raw: "}}")
        return HTTPResponse(status: status, contentType: "application/json", body: buffer.takeBytes(), headers: headers)
    }
}
