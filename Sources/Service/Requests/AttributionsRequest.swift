import NN

/// A `POST /v1/models/{name}/attributions` request, validated field by field (openapi.yaml's
/// `AttributionRequest`).
///
/// Body: the input as in `FeaturesRequest` (exactly one of `inputs`, `text`, `image`), and
/// - `"target"` (required, except by attention_rollout, which takes none): `{"class": k}`,
///   `{"output_index": [i, …]}` (one entry per output axis, the batch row first) or
///   `{"layer": "<name>", "reduce": "l2"}`;
/// - `"method"` (required): `"saliency"`, `"gradcam"`, `"gradcam_plus_plus"`, `"layercam"`, `"input_x_gradient"`,
///   `"integrated_gradients"`, `"smoothgrad"` or `"attention_rollout"`;
/// - `"layers"`: layer names or globs (strings; gradcam needs at least one; the input attributions
///   and attention_rollout take none);
/// - attention_rollout: `"head_fusion"` (`mean`, `max` or `min`, default mean), `"discard_ratio"`
///   (0 ≤ r < 1, default 0);
/// - integrated_gradients: `"steps"` (1–1024, default 50), `"integration"` (Captum's rule names,
///   default `gausslegendre`), `"baseline"` (a number, default 0), `"baseline_token"` (token
///   inputs: the token id whose embedding is the baseline, default 0 = [PAD], or `"zero"` for a
///   zero embedding);
/// - smoothgrad: `"samples"` (1–1024, default 10), `"noise_stddev"` (≥ 0, default 0.15), `"seed"`
///   (default 0);
/// - `"dtype": "float32|float16"`, `"encoding": "json|base64"` as for features.
///
/// Unknown fields are rejected, in the body and in the target.
public struct AttributionsRequest: Sendable {
    public var input: FeaturesRequest.Input
    /// What to differentiate, how, and for which layers (as the library takes it).
    public var attribution: Attribution
    public var dtype: OutputDType
    public var encoding: FeatureEncoding

    public static let knownFields = ["inputs", "text", "image", "target", "method", "layers", "dtype", "encoding",
                                     "steps", "integration", "baseline", "baseline_token", "samples", "noise_stddev", "seed", "head_fusion", "discard_ratio"]
    /// The method-specific fields and the method each belongs to.
    static let methodFields: [(field: String, method: AttributionMethod)] = [
        ("steps", .integratedGradients), ("integration", .integratedGradients), ("baseline", .integratedGradients),
        ("baseline_token", .integratedGradients),
        ("samples", .smoothGrad), ("noise_stddev", .smoothGrad), ("seed", .smoothGrad),
        ("head_fusion", .attentionRollout), ("discard_ratio", .attentionRollout),
    ]

    public init(input: FeaturesRequest.Input, attribution: Attribution, dtype: OutputDType = .float32,
                encoding: FeatureEncoding = .json) {
        self.input = input
        self.attribution = attribution
        self.dtype = dtype
        self.encoding = encoding
    }

    /// Parses and validates a request body.
    public static func parse(_ body: [UInt8], limits: JSONParserLimits = JSONParserLimits()) throws(RequestError) -> AttributionsRequest {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body, limits: limits)
        } catch {
            throw RequestError(error)
        }
        return try AttributionsRequest(json: document)
    }

    /// Validates a parsed body.
    public init(json: JSONValue) throws(RequestError) {
        let body = try FieldReader(json, path: "$")
        try body.rejectUnknownKeys(Self.knownFields)
        input = try FeaturesRequest.input(body)
        guard let method = try body.choice("method", as: AttributionMethod.self) else { throw RequestError(field: "method", "is required") }
        let target = try body.object("target")
        if method.usesGradients && target == nil { throw RequestError(field: "target", "is required") }
        if !method.usesGradients && target != nil {
            throw RequestError(field: "target", "\(method.rawValue) takes no target: it reads the attention of one forward pass, whatever the class")
        }
        let layers = try Self.layers(body.value("layers"))
        if method.isClassActivationMap && layers.isEmpty {
            throw RequestError(field: "layers", "\(method.rawValue) needs at least one (convolutional or patch-token) layer")
        }
        if method.isInputAttribution && !layers.isEmpty {
            throw RequestError(field: "layers", "\(method.rawValue) attributes the inputs and takes no layers (use saliency for layer gradients)")
        }
        if method == .attentionRollout && !layers.isEmpty {
            throw RequestError(field: "layers", "\(method.rawValue) reads the attention of every layer and takes no layers")
        }
        for (field, owner) in Self.methodFields where owner != method && body.value(field) != nil {
            throw RequestError(field: field, "only used by method \(owner.rawValue), not \(method.rawValue)")
        }
        attribution = Attribution(target: try target.map { target throws(RequestError) in try Self.target(target) }, method: method,
                                  layers: layers, inputAttribution: try Self.inputAttribution(body, method: method),
                                  rollout: try Self.rollout(body))
        dtype = try body.choice("dtype", as: OutputDType.self) ?? .float32
        encoding = try body.choice("encoding", as: FeatureEncoding.self) ?? .json
    }

    // MARK: - Fields

    /// `{"class": k}` | `{"output_index": [...]}` | `{"layer": "<name>", "reduce": "l2"}`.
    private static func target(_ target: FieldReader) throws(RequestError) -> AttributionTarget {
        let kinds = ["class", "output_index", "layer"].filter { target.object[$0] != nil }
        guard kinds.count == 1 else {
            throw RequestError(field: target.path, (kinds.isEmpty ? "needs" : "give only") + #" one of {"class": k}, {"output_index": [i, ...]}"#
                               + #" or {"layer": "<name>", "reduce": "l2"}"# + (kinds.isEmpty ? "" : " (found \(kinds.joined(separator: ", ")))"))
        }
        switch kinds[0] {
        case "class":
            try target.rejectUnknownKeys(["class"])
            return .classIndex(try nonNegativeInteger(target.required("class"), field: target.field("class")))
        case "output_index":
            try target.rejectUnknownKeys(["output_index"])
            let field = target.field("output_index")
            guard let elements = try target.required("output_index").arrayElements, !elements.isEmpty else {
                throw RequestError(field: field, "expected a non-empty array of non-negative integers (one per output axis, the batch row first)")
            }
            var index: [Int] = []
            for (axis, element) in elements.enumerated() {
                index.append(try nonNegativeInteger(element, field: "\(field)[\(axis)]"))
            }
            return .outputIndex(index)
        default:
            try target.rejectUnknownKeys(["layer", "reduce"])
            let layer = try target.requiredString("layer")
            guard !layer.isEmpty else { throw RequestError(field: target.field("layer"), "expected a layer name, found an empty string") }
            let reduce = try target.requiredString("reduce")
            guard reduce == "l2" else { throw RequestError(field: target.field("reduce"), "'\(reduce)' is not one of: l2") }
            return .layerNorm(layer: layer)
        }
    }

    /// Steps, rule and baseline of integrated_gradients; samples, noise and seed of smoothgrad.
    private static func inputAttribution(_ body: FieldReader, method: AttributionMethod) throws(RequestError) -> InputAttributionOptions {
        var options = InputAttributionOptions()
        options.rule = try body.choice("integration", as: IntegrationRule.self) ?? options.rule
        if let steps = try body.integer("steps") {
            let minimum = options.rule == .gaussLegendre ? 1 : 2
            guard (minimum...1024).contains(steps) else {
                throw RequestError(field: "steps", "expected an integer from \(minimum) to 1024 for \(options.rule.rawValue), found \(steps)")
            }
            options.steps = steps
        }
        if let baseline = try finite(body, "baseline") { options.baseline = baseline }
        if let token = body.value("baseline_token") {
            if case .string("zero") = token {
                options.tokenBaseline = .zeroEmbedding
            } else {
                guard case .number(let number) = token, number.decimal.isIntegerLiteral, let id = number.intValue, id >= 0 else {
                    throw RequestError(field: "baseline_token", "expected a token id (a non-negative integer) or \"zero\", found \(token.numberValue?.text ?? token.kindDescription)")
                }
                options.tokenBaseline = .token(id)
            }
        }
        if let samples = try body.integer("samples") {
            guard (1...1024).contains(samples) else { throw RequestError(field: "samples", "expected an integer from 1 to 1024, found \(samples)") }
            options.samples = samples
        }
        if let deviation = try finite(body, "noise_stddev") {
            guard deviation >= 0 else { throw RequestError(field: "noise_stddev", "expected a non-negative number, found \(deviation)") }
            options.noiseStandardDeviation = deviation
        }
        if let seed = body.value("seed") { options.seed = UInt64(try nonNegativeInteger(seed, field: "seed")) }
        return options
    }

    /// Head fusion and discard ratio of attention_rollout.
    private static func rollout(_ body: FieldReader) throws(RequestError) -> AttentionRolloutOptions {
        var options = AttentionRolloutOptions()
        options.headFusion = try body.choice("head_fusion", as: AttentionRolloutOptions.HeadFusion.self) ?? options.headFusion
        if let value = body.value("discard_ratio") {
            guard case .number(let number) = value, let ratio = number.doubleValue, ratio >= 0 && ratio < 1 else {
                throw RequestError(field: "discard_ratio", "expected a number from 0 up to (not including) 1, found \(value.numberValue?.text ?? value.kindDescription)")
            }
            options.discardRatio = ratio
        }
        return options
    }

    /// A finite number that fits a Float.
    private static func finite(_ body: FieldReader, _ key: String) throws(RequestError) -> Float? {
        guard let value = body.value(key) else { return nil }
        guard case .number(let number) = value, let float = number.floatValue, float.isFinite else {
            throw RequestError(field: key, "expected a finite number, found \(value.numberValue?.text ?? value.kindDescription)")
        }
        return float
    }

    private static func nonNegativeInteger(_ value: JSONValue, field: String) throws(RequestError) -> Int {
        guard case .number(let number) = value, number.decimal.isIntegerLiteral, let integer = number.intValue, integer >= 0 else {
            throw RequestError(field: field, "expected a non-negative integer, found \(value.numberValue?.text ?? value.kindDescription)")
        }
        return integer
    }

    /// `"layers"`: an array (possibly empty) of non-empty layer names or globs.
    private static func layers(_ value: JSONValue?) throws(RequestError) -> [LayerSelector] {
        guard let value else { return [] }
        guard let elements = value.arrayElements else {
            throw RequestError(field: "layers", "expected an array of layer names, found \(value.kindDescription)")
        }
        var selectors: [LayerSelector] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let name) = element, !name.isEmpty else {
                throw RequestError(field: "layers[\(index)]", "expected a layer name, found \(element.kindDescription == "a string" ? "an empty string" : element.kindDescription)")
            }
            selectors.append(.name(name))
        }
        return selectors
    }
}
