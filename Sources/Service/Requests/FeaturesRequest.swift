import Models
import NN
import Tensors

/// A native `POST /v1/models/{name}[/versions/{v}]/features` request, validated field by field.
///
/// Body (openapi.yaml's `FeatureRequest` schema; the layers resolve to a model's `ResolvedLayers`):
/// exactly one of
/// - `"inputs": {"<name>": {"shape": [...], "data": [...] | "<base64>", "dtype": "float32"}}` —
///   data as JSON numbers (flat or nested like the shape) or base64 of little-endian values
///   (`dtype` says of what: float32 by default; float16, int64, int32, uint8, bool too);
/// - `"text": "…" | ["…", …]` — for BERT-family models, tokenized server-side;
/// - `"image": "<base64 JPEG/PNG>" | [...]` — for vision models, preprocessed per model config;
///
/// and optionally `"layers": ["layer3", "layer4.*.relu", -1]` (default `[-1]`, the last layer),
/// `"pool": "none|mean|max|cls"`, `"flatten": false`, `"normalize": false`,
/// `"dtype": "float32|float16"`, `"encoding": "json|base64"`, `"nonfinite": "error|null"`, and for
/// text `"truncate": "end|start|none"` (default: the model's) and `"return_tokens": false`.
/// Unknown fields are rejected (typos would otherwise be ignored).
public struct FeaturesRequest: Sendable {
    /// What the model is run on.
    public enum Input: Sendable {
        /// Named tensors.
        case tensors([RequestTensor])
        /// Texts (a batch), for text models.
        case text([String])
        /// Encoded images (JPEG/PNG bytes, a batch), for vision models.
        case images([[UInt8]])
    }

    public var input: Input
    public var layers: [LayerSelector]
    public var pool: PoolingMode
    public var flatten: Bool
    public var normalize: Bool
    public var dtype: OutputDType
    public var encoding: FeatureEncoding
    /// How JSON data is laid out: always flat from the HTTP API (openapi.yaml); nested is for callers in code.
    public var layout: ArrayLayout
    public var nonFinite: NonFinitePolicy
    /// Texts: what happens to one longer than the model's maximum (nil: the model's default).
    public var truncate: TruncationMode?
    /// Texts: answer with each input's token strings (`text_inputs[i].token_strings`).
    public var returnTokens: Bool = false

    public static let knownFields = ["inputs", "text", "image", "layers", "pool", "flatten", "normalize", "dtype",
                                     "encoding", "nonfinite", "truncate", "return_tokens"]

    public init(input: Input, layers: [LayerSelector] = [.index(-1)], pool: PoolingMode = .none,
                flatten: Bool = false, normalize: Bool = false, dtype: OutputDType = .float32, encoding: FeatureEncoding = .json,
                layout: ArrayLayout = .flat, nonFinite: NonFinitePolicy = .error) {
        self.input = input
        self.layers = layers
        self.pool = pool
        self.flatten = flatten
        self.normalize = normalize
        self.dtype = dtype
        self.encoding = encoding
        self.layout = layout
        self.nonFinite = nonFinite
    }

    /// Parses and validates a request body.
    public static func parse(_ body: [UInt8], limits: JSONParserLimits = JSONParserLimits()) throws(RequestError) -> FeaturesRequest {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body, limits: limits)
        } catch {
            throw RequestError(error)
        }
        return try FeaturesRequest(json: document)
    }

    /// Validates a parsed body.
    public init(json: JSONValue) throws(RequestError) {
        let body = try FieldReader(json, path: "$")
        try body.rejectUnknownKeys(Self.knownFields)
        input = try Self.input(body)
        layers = try Self.layers(body.value("layers"))
        pool = try body.choice("pool", as: PoolingMode.self) ?? .none
        flatten = try body.bool("flatten") ?? false
        normalize = try body.bool("normalize") ?? false
        dtype = try body.choice("dtype", as: OutputDType.self) ?? .float32
        encoding = try body.choice("encoding", as: FeatureEncoding.self) ?? .json
        layout = .flat
        nonFinite = try body.choice("nonfinite", as: NonFinitePolicy.self) ?? .error
        truncate = try body.choice("truncate", as: TruncationMode.self)
        returnTokens = try body.bool("return_tokens") ?? false
        var isText = false
        if case .text = input { isText = true }
        if !isText && truncate != nil { throw RequestError(field: "truncate", "applies to text input only") }
        if !isText && returnTokens { throw RequestError(field: "return_tokens", "applies to text input only") }
    }

    // MARK: - Fields

    /// The input of a body: exactly one of `"inputs"`, `"text"` and `"image"` (shared with
    /// `AttributionsRequest`, which takes the same input forms).
    static func input(_ body: FieldReader) throws(RequestError) -> Input {
        let given = ["inputs", "text", "image"].filter { body.contains($0) }
        guard given.count == 1 else {
            throw RequestError(field: "$", given.isEmpty
                ? "the body needs one of \"inputs\" (tensors), \"text\" or \"image\""
                : "give only one of \"inputs\", \"text\" and \"image\" (found \(given.joined(separator: ", ")))")
        }
        switch given[0] {
        case "inputs": return .tensors(try tensors(body.object("inputs")!))
        case "text": return .text(try strings(body.required("text"), field: "text", what: "a text"))
        default:
            let encoded = try strings(body.required("image"), field: "image", what: "a base64 image")
            var images: [[UInt8]] = []
            for (index, text) in encoded.enumerated() {
                let field = encoded.count == 1 ? "image" : "image[\(index)]"
                do {
                    images.append(try Base64.decode(text))
                } catch {
                    throw RequestError(field: field, error.description)
                }
                if images[index].isEmpty { throw RequestError(field: field, "is empty") }
            }
            return .images(images)
        }
    }

    /// `"inputs": {"name": {"shape", "data", "dtype"?}}`.
    private static func tensors(_ inputs: FieldReader) throws(RequestError) -> [RequestTensor] {
        guard inputs.object.count > 0 else { throw RequestError(field: "inputs", "needs at least one named tensor") }
        var tensors: [RequestTensor] = []
        for (name, value) in inputs.object.members {
            let tensor = try FieldReader(value, path: inputs.field(name))
            try tensor.rejectUnknownKeys(["shape", "data", "dtype"])
            let shape = try tensor.shape("shape")
            let declared: DType? = try tensor.string("dtype").map { (text) throws(RequestError) -> DType in
                guard let dtype = DType(rawValue: text) else {
                    throw RequestError(field: tensor.field("dtype"), "'\(text)' is not one of: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return dtype
            }
            let data = try tensor.required("data")
            let payload: RequestTensor.Payload
            switch data {
            case .string(let text):
                do {
                    payload = .bytes(try Base64.decode(text), dtype: declared ?? .float32)
                } catch {
                    throw RequestError(field: tensor.field("data"), error.description)
                }
            default:
                guard let numbers = data.numericArray else {
                    throw RequestError(field: tensor.field("data"), "expected an array of numbers or a base64 string: \(data.numericArrayProblem)")
                }
                payload = .numbers(numbers)
            }
            tensors.append(try RequestTensor(name: name, shape: shape, payload: payload, declaredDType: declared, field: tensor.path))
        }
        return tensors
    }

    /// A string or a non-empty array of strings.
    private static func strings(_ value: JSONValue, field: String, what: String) throws(RequestError) -> [String] {
        if case .string(let text) = value { return [text] }
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw RequestError(field: field, "expected \(what) or a non-empty array of them, found \(value.kindDescription)")
        }
        var result: [String] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw RequestError(field: "\(field)[\(index)]", "expected a string, found \(element.kindDescription)")
            }
            result.append(text)
        }
        return result
    }

    /// `"layers"`: names, globs and integer indices (negative from the end); default `[-1]`.
    static func layers(_ value: JSONValue?) throws(RequestError) -> [LayerSelector] {
        guard let value else { return [.index(-1)] }
        if case .string(let name) = value { return [.name(name)] }
        guard let elements = value.arrayElements, !elements.isEmpty else {
            throw RequestError(field: "layers", "expected a non-empty array of layer names and indices, found \(value.kindDescription)")
        }
        var selectors: [LayerSelector] = []
        for (index, element) in elements.enumerated() {
            switch element {
            case .string(let name) where !name.isEmpty: selectors.append(.name(name))
            case .number(let number):
                guard let position = number.intValue, number.decimal.isIntegerLiteral else {
                    throw RequestError(field: "layers[\(index)]", "expected an integer index, found \(number.text)")
                }
                selectors.append(.index(position))
            default:
                throw RequestError(field: "layers[\(index)]", "expected a layer name or an integer index, found \(element.kindDescription == "a string" ? "an empty string" : element.kindDescription)")
            }
        }
        return selectors
    }
}
