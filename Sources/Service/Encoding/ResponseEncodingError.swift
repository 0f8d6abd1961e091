import HTTP

/// Why a response could not be encoded. Raised before any byte is sent (the encoders check first),
/// so it still becomes a proper error response.
public enum ResponseEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A NaN or infinity in `layer` at flat element `index`, with the JSON policy `error`.
    case nonFinite(layer: String, index: Int, value: String)
    /// A dtype this encoding cannot represent.
    case unsupportedDType(layer: String, dtype: String, encoding: String)

    public var description: String {
        switch self {
        case .nonFinite(let layer, let index, let value):
            "layer '\(layer)' has a non-finite value (\(value)) at flat index \(index); JSON has no number for it (send \"nonfinite\": \"null\" to receive null instead, or use encoding base64)"
        case .unsupportedDType(let layer, let dtype, let encoding):
            "layer '\(layer)' has dtype \(dtype), which \(encoding) cannot encode"
        }
    }
}

extension ResponseEncodingError: HTTPResponseError {
    /// 400: the values follow from the request's input (the API's error list has no 422: docs/architecture.md, openapi.yaml).
    public var status: HTTPStatus { .badRequest }
    public var message: String { description }
    public var errorType: String {
        switch self {
        case .nonFinite: "non_finite_output"
        case .unsupportedDType: "unsupported_dtype"
        }
    }
}
