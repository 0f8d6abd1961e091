import Foundation
import NN
import Tensors

/// How a model turns its inputs into one embedding per input for `POST /v1/embeddings`, and what
/// its text inputs may be: pooling, normalization, the Dense layers between them, Matryoshka
/// dimensions, the truncation default and maximum sequence length, and named prompts.
///
/// Sources, later ones overriding: the defaults (mean pooling of `last_hidden_state`, L2-normalized,
/// `truncate: end`); a registration's configuration key `"embedding"` (`pool`, `normalize`,
/// `matryoshka_dimensions`, `truncate`, `max_seq_length`, `prompts`, `default_prompt_name`); and a
/// sentence-transformers directory next to the weights (`SentenceTransformersDirectory`), which
/// embeds exactly as `SentenceTransformer(dir).encode` does.
public struct EmbeddingConfiguration: Sendable {
    /// One `sentence_transformers.models.Dense` module: y = activation(x·Wᵀ + b).
    public struct DenseLayer: Sendable {
        public enum Activation: String, Sendable {
            case identity, tanh, relu, sigmoid, gelu
        }

        /// [out, in].
        public var weight: Tensor
        /// [out], or nil (`bias: false`).
        public var bias: Tensor?
        public var activation: Activation

        public var inputFeatures: Int { weight.shape[1] }
        public var outputFeatures: Int { weight.shape[0] }

        public init(weight: Tensor, bias: Tensor?, activation: Activation) {
            self.weight = weight
            self.bias = bias
            self.activation = activation
        }

        /// [rows, in] → [rows, out].
        public func apply(_ input: Tensor) -> Tensor {
            precondition(input.rank == 2 && input.shape[1] == inputFeatures, "Dense: expected [rows, \(inputFeatures)], got \(input.shape)")
            let rows = input.shape[0], inputs = inputFeatures, outputs = outputFeatures
            let x = input.to(.float32).toArray(), w = weight.to(.float32).toArray(), b = bias?.to(.float32).toArray()
            var y = [Float](repeating: 0, count: rows * outputs)
            for row in 0..<rows {
                for output in 0..<outputs {
                    var sum: Float = b?[output] ?? 0
                    for k in 0..<inputs { sum += x[row * inputs + k] * w[output * inputs + k] }
                    y[row * outputs + output] = Self.activate(sum, activation)
                }
            }
            return Tensor(shape: [rows, outputs], scalars: y)
        }

        private static func activate(_ value: Float, _ activation: Activation) -> Float {
            switch activation {
            case .identity: value
            case .tanh: Foundation.tanh(value)
            case .relu: Swift.max(value, 0)
            case .sigmoid: 1 / (1 + Foundation.exp(-value))
            case .gelu: 0.5 * value * (1 + Foundation.erf(value / Float(2).squareRoot()))
            }
        }
    }

    /// How token embeddings become one vector (nil: the layer is already one vector per input).
    public var pooling: SentencePooling? = .mean
    /// Dense layers applied after pooling, before normalization (sentence-transformers).
    public var dense: [DenseLayer] = []
    public var normalize = true
    /// Dimensions the model was trained to be truncated to (Matryoshka); `dimensions` is accepted
    /// only when this is non-empty.
    public var matryoshkaDimensions: [Int] = []
    /// What happens to over-long texts when a request does not say.
    public var truncation: TruncationMode = .end
    /// The longest sequence (special tokens included); nil: the tokenizer's and the model's limits.
    public var maxSequenceLength: Int?
    /// Named prompts prepended to texts (`prompt_name`), e.g. `query: `.
    public var prompts: [String: String] = [:]
    public var defaultPromptName: String?
    /// Where the settings came from, for listings: `default`, `configuration`, `sentence-transformers`.
    public var source = "default"

    public init() {}

    /// The `"embedding"` object of a registration's configuration, over the defaults. Every
    /// problem is a `ModelError.invalidConfiguration` naming `embedding.<key>`.
    public init(configuration data: Data?) throws {
        self.init()
        guard let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let value = object["embedding"], !(value is NSNull) else { return }
        guard let embedding = value as? [String: Any] else {
            throw ModelError.invalidConfiguration(field: "embedding", expected: "an object")
        }
        let known = ["pool", "normalize", "matryoshka_dimensions", "truncate", "max_seq_length", "prompts", "default_prompt_name"]
        if let unknown = embedding.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelError.unknownConfigurationField("embedding.\(unknown)", architecture: "embedding", known: known)
        }
        source = "configuration"
        if let pool = embedding["pool"] {
            guard let text = pool as? String, text == "none" || SentencePooling(rawValue: text) != nil else {
                throw ModelError.invalidConfiguration(field: "embedding.pool", expected: "one of mean, cls, max, none")
            }
            pooling = SentencePooling(rawValue: text)
        }
        if let flag = embedding["normalize"] {
            guard let flag = flag as? Bool else { throw ModelError.invalidConfiguration(field: "embedding.normalize", expected: "true or false") }
            normalize = flag
        }
        if let dimensions = embedding["matryoshka_dimensions"] {
            guard let list = dimensions as? [Int], list.allSatisfy({ $0 > 0 }) else {
                throw ModelError.invalidConfiguration(field: "embedding.matryoshka_dimensions", expected: "an array of positive integers")
            }
            matryoshkaDimensions = list.sorted(by: >)
        }
        if let mode = embedding["truncate"] {
            guard let text = mode as? String, let parsed = TruncationMode(rawValue: text) else {
                throw ModelError.invalidConfiguration(field: "embedding.truncate", expected: "one of end, start, none")
            }
            truncation = parsed
        }
        if let length = embedding["max_seq_length"] {
            guard let length = length as? Int, length >= 2 else {
                throw ModelError.invalidConfiguration(field: "embedding.max_seq_length", expected: "an integer of at least 2")
            }
            maxSequenceLength = length
        }
        if let prompts = embedding["prompts"] {
            guard let table = prompts as? [String: String] else {
                throw ModelError.invalidConfiguration(field: "embedding.prompts", expected: "an object of prompt names to strings")
            }
            self.prompts = table
        }
        if let name = embedding["default_prompt_name"], !(name is NSNull) {
            guard let name = name as? String, prompts[name] != nil else {
                throw ModelError.invalidConfiguration(field: "embedding.default_prompt_name", expected: "the name of one of embedding.prompts")
            }
            defaultPromptName = name
        }
    }

    /// The width of the embedding for a pooled width of `hidden` (after the Dense layers).
    public func outputWidth(pooledWidth hidden: Int) -> Int {
        dense.last?.outputFeatures ?? hidden
    }
}
