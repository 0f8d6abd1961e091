import Models
import NN

/// An OpenAI-compatible `POST /v1/embeddings` request, validated field by field.
///
/// OpenAI's fields: `input` (a string, an array of strings, an array of token ids or an array of
/// arrays of token ids; for vision models strings are `data:image/png|jpeg;base64,…` URIs),
/// `model` (`name` or `name:version`), `encoding_format` (`float` | `base64`, default `float`; the
/// SDKs send `base64`), `dimensions` (Matryoshka truncation), `user` (accepted, not used).
/// Periscope's extensions (`extra_body` in the SDKs): `layers`, `pool`, `normalize`, `truncate`,
/// `prompt_name`. Unknown fields are rejected, naming them.
public struct EmbeddingsRequest: Sendable {
    /// What to embed.
    public enum Input: Sendable, Equatable {
        /// Texts, or image data URIs for a vision model (decided once the model is known).
        case strings([String])
        /// WordPiece ids without special tokens, one array per input.
        case tokenIds([[Int]])
    }

    /// `encoding_format`.
    public enum EncodingFormat: String, Sendable, CaseIterable {
        case float
        case base64
    }

    public var input: Input
    public var modelName: String
    public var modelVersion: Int?
    public var encodingFormat: EncodingFormat
    public var dimensions: Int?
    public var user: String?
    /// Layers to embed from (default: the model's embedding).
    public var layers: [LayerSelector]?
    public var pool: PoolingMode?
    public var normalize: Bool?
    public var truncate: TruncationMode?
    public var promptName: String?

    public static let knownFields = ["input", "model", "encoding_format", "dimensions", "user",
                                     "layers", "pool", "normalize", "truncate", "prompt_name"]

    /// Most inputs in one request (OpenAI's limit).
    public static let maximumInputs = 2048

    public init(input: Input, modelName: String, modelVersion: Int? = nil, encodingFormat: EncodingFormat = .float) {
        self.input = input
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.encodingFormat = encodingFormat
    }

    /// Parses and validates a request body.
    public static func parse(_ body: [UInt8], limits: JSONParserLimits = JSONParserLimits()) throws(RequestError) -> EmbeddingsRequest {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body, limits: limits)
        } catch {
            throw RequestError(error)
        }
        return try EmbeddingsRequest(json: document)
    }

    /// Validates a parsed body.
    public init(json: JSONValue) throws(RequestError) {
        let body = try FieldReader(json, path: "$")
        try body.rejectUnknownKeys(Self.knownFields)
        input = try Self.input(body.required("input"))
        (modelName, modelVersion) = try Self.model(body.requiredString("model"))
        encodingFormat = try body.choice("encoding_format", as: EncodingFormat.self) ?? .float
        dimensions = try body.integer("dimensions")
        if let dimensions, dimensions < 1 { throw RequestError(field: "dimensions", "must be a positive integer, got \(dimensions)") }
        user = try body.string("user")
        if body.contains("layers") { layers = try FeaturesRequest.layers(body.value("layers")) }
        pool = try body.choice("pool", as: PoolingMode.self)
        normalize = try body.bool("normalize")
        truncate = try body.choice("truncate", as: TruncationMode.self)
        promptName = try body.string("prompt_name")
    }

    /// `name` or `name:version` (the version a positive integer).
    static func model(_ text: String) throws(RequestError) -> (String, Int?) {
        guard !text.isEmpty else { throw RequestError(field: "model", "must name a registered model") }
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        let name = String(text[..<colon]), suffix = String(text[text.index(after: colon)...])
        guard !name.isEmpty, let version = Int(suffix), version >= 1 else {
            throw RequestError(field: "model", "expected a model name or name:version (a positive integer version), got '\(text)'")
        }
        return (name, version)
    }

    /// A string, an array of strings, an array of token ids, or an array of arrays of token ids.
    static func input(_ value: JSONValue) throws(RequestError) -> Input {
        if case .string(let text) = value { return .strings([text]) }
        guard let elements = value.arrayElements, !elements.isEmpty else {
            throw RequestError(field: "input", "expected a string, an array of strings, an array of token ids or an array of arrays of token ids, found \(value.kindDescription == "an array" ? "an empty array" : value.kindDescription)")
        }
        guard elements.count <= maximumInputs else {
            throw RequestError(field: "input", "has \(elements.count) items; at most \(maximumInputs) per request")
        }
        switch elements[0] {
        case .string:
            var texts: [String] = []
            for (index, element) in elements.enumerated() {
                guard case .string(let text) = element else {
                    throw RequestError(field: "input[\(index)]", "expected a string like the other items, found \(element.kindDescription)")
                }
                texts.append(text)
            }
            return .strings(texts)
        case .number:
            return .tokenIds([try tokenIds(value, field: "input")])
        default:
            var inputs: [[Int]] = []
            for (index, element) in elements.enumerated() {
                inputs.append(try tokenIds(element, field: "input[\(index)]"))
            }
            return .tokenIds(inputs)
        }
    }

    /// One array of integer token ids.
    private static func tokenIds(_ value: JSONValue, field: String) throws(RequestError) -> [Int] {
        if case .array(let elements) = value, elements.isEmpty { return [] }
        guard let numbers = value.numericArray, numbers.shape.count == 1 else {
            throw RequestError(field: field, "expected an array of token ids (integers), found \(value.kindDescription)")
        }
        do {
            return try numbers.int64s().map { Int($0) }
        } catch {
            throw RequestError(field: field, error.description)
        }
    }
}
