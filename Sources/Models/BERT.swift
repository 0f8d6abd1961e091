import NN
import Tensors

// Mirrors Hugging Face transformers' `BertModel` (transformers/models/bert/modeling_bert.py, v5):
// `BertEmbeddings`, `BertSelfAttention` (eager attention), `BertSelfOutput`, `BertAttention`,
// `BertIntermediate`, `BertOutput`, `BertLayer`, `BertEncoder`, `BertPooler`, with the extended
// attention mask (1 − mask)·min_float added to the scores. Keys are exactly Hugging Face's
// (`embeddings.LayerNorm.weight`, `encoder.layer.0.attention.self.query.weight`, …); the
// non-persistent buffers `embeddings.position_ids` / `embeddings.token_type_ids` are rebuilt, not
// loaded. Module names match, so captures use Hugging Face's dotted paths; a module that returns a
// tuple in Python (`attention`, `attention.self`) yields its first element.
//
// Inference fast paths (same numbers; each only while no hook watches the modules involved):
// query/key/value as one packed GEMM, attention read straight from that buffer (no head permutes);
// bias + activation in one pass; the residual add folded into the output projection's GEMM
// (C = residual + x·Wᵀ + b) before LayerNorm.

/// Hugging Face's `BertModel`: token ids [N, S] (with an optional attention mask and token type
/// ids) → `last_hidden_state` [N, S, hidden]; the pooler's output is the `pooler` layer.
public final class BertModel: Module {
    // MARK: - Configuration

    /// The fields of a Hugging Face BERT `config.json` this model uses (others are ignored), with
    /// `BertConfig`'s defaults.
    public struct Configuration: Decodable, Sendable, Equatable {
        public var vocabSize: Int
        public var hiddenSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var intermediateSize: Int
        /// `gelu`, `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`, `relu`, `silu`, `swish` or `tanh`.
        public var hiddenAct: String
        public var hiddenDropoutProb: Double
        public var attentionProbsDropoutProb: Double
        public var maxPositionEmbeddings: Int
        public var typeVocabSize: Int
        public var layerNormEps: Double
        public var padTokenId: Int?
        /// Whether the pooler exists (`add_pooling_layer`); checkpoints without pooler weights load without it.
        public var addPoolingLayer: Bool

        public init(vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                    intermediateSize: Int = 3072, hiddenAct: String = "gelu", hiddenDropoutProb: Double = 0.1,
                    attentionProbsDropoutProb: Double = 0.1, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
                    layerNormEps: Double = 1e-12, padTokenId: Int? = 0, addPoolingLayer: Bool = true) {
            self.vocabSize = vocabSize
            self.hiddenSize = hiddenSize
            self.numHiddenLayers = numHiddenLayers
            self.numAttentionHeads = numAttentionHeads
            self.intermediateSize = intermediateSize
            self.hiddenAct = hiddenAct
            self.hiddenDropoutProb = hiddenDropoutProb
            self.attentionProbsDropoutProb = attentionProbsDropoutProb
            self.maxPositionEmbeddings = maxPositionEmbeddings
            self.typeVocabSize = typeVocabSize
            self.layerNormEps = layerNormEps
            self.padTokenId = padTokenId
            self.addPoolingLayer = addPoolingLayer
        }

        public init(from decoder: any Decoder) throws {
            let fields = try ConfigurationFields(decoder, architecture: "bert")
            func positive(_ name: String, _ value: Int) throws -> Int {
                try fields.value(name, expected: "a positive integer", default: value) { $0 > 0 }
            }
            func probability(_ name: String) throws -> Double {
                try fields.value(name, expected: "a probability between 0 and 1", default: 0.1) { $0 >= 0 && $0 <= 1 }
            }
            if fields.contains("model_type") {
                _ = try fields.choice("model_type", from: ["bert"])
            }
            if fields.contains("position_embedding_type") {
                _ = try fields.choice("position_embedding_type", from: ["absolute"])
            }
            for flag in ["is_decoder", "add_cross_attention"] where fields.contains(flag) {
                _ = try fields.value(flag, expected: "false (decoder BERTs are not supported)") { (value: Bool) in !value }
            }
            self.init(vocabSize: try positive("vocab_size", 30522),
                      hiddenSize: try positive("hidden_size", 768),
                      numHiddenLayers: try positive("num_hidden_layers", 12),
                      numAttentionHeads: try positive("num_attention_heads", 12),
                      intermediateSize: try positive("intermediate_size", 3072),
                      hiddenAct: try fields.choice("hidden_act", from: HiddenActivation.names, default: "gelu"),
                      hiddenDropoutProb: try probability("hidden_dropout_prob"),
                      attentionProbsDropoutProb: try probability("attention_probs_dropout_prob"),
                      maxPositionEmbeddings: try positive("max_position_embeddings", 512),
                      typeVocabSize: try positive("type_vocab_size", 2),
                      layerNormEps: try fields.value("layer_norm_eps", expected: "a positive number", default: 1e-12) { $0 > 0 },
                      padTokenId: fields.isNull("pad_token_id") ? nil
                          : try fields.value("pad_token_id", expected: "a token id or null", default: 0) { $0 >= 0 },
                      addPoolingLayer: try fields.value("add_pooling_layer", expected: "true or false", default: true))
            try validate()
        }

        /// Combinations `BertModel` rejects.
        public func validate() throws {
            guard hiddenSize % numAttentionHeads == 0 else {
                throw ModelError.invalidConfiguration(field: "hidden_size", expected: "a multiple of num_attention_heads (\(numAttentionHeads))")
            }
            guard HiddenActivation.names.contains(hiddenAct) else {
                throw ModelError.invalidConfiguration(field: "hidden_act", expected: "one of " + HiddenActivation.names.joined(separator: ", "))
            }
            if let padTokenId, padTokenId < 0 || padTokenId >= vocabSize {
                throw ModelError.invalidConfiguration(field: "pad_token_id", expected: "a token id below vocab_size (\(vocabSize))")
            }
        }
    }

    // MARK: - Modules

    public let configuration: Configuration
    private let embeddings: BertEmbeddings
    private let encoder: BertEncoder
    private let pooler: BertPooler?

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        embeddings = BertEmbeddings(configuration)
        encoder = BertEncoder(configuration)
        pooler = configuration.addPoolingLayer ? BertPooler(configuration) : nil
        super.init()
        initializeWeights()
    }

    /// Hugging Face's `_init_weights`: N(0, 0.02²) linear and embedding weights (padding row zero),
    /// zero biases, unit layer norms.
    private func initializeWeights() {
        for module in modules() {
            if let linear = module as? Linear {
                Initializers.normal(linear.weight, standardDeviation: 0.02)
                if let bias = linear.bias { Initializers.zeros(bias) }
            } else if let embedding = module as? Embedding {
                Initializers.normal(embedding.weight, standardDeviation: 0.02)
                if let padding = embedding.paddingIndex {
                    let dimension = embedding.embeddingDimension
                    embedding.weight.value.withMutableFloats { values in
                        for column in 0..<dimension { values[padding * dimension + column] = 0 }
                    }
                }
            }
        }
    }

    /// Runs the model: `inputIds` [N, S] (int64 or int32), `attentionMask` [N, S] (1 = token,
    /// 0 = padding; all ones when nil), `tokenTypeIds` [N, S] (zeros when nil) → last_hidden_state.
    /// Hooks on the model see `[inputIds, attentionMask?, tokenTypeIds?]`.
    public func callAsFunction(inputIds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil) throws -> Tensor {
        if canSkipHooks { return try forward(inputIds: inputIds, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds) }
        var inputs = [inputIds]
        if let attentionMask { inputs.append(attentionMask) }
        if let tokenTypeIds { inputs.append(tokenTypeIds) }
        return try callWithHooks(inputs: inputs) { inputs in
            var rest = inputs.dropFirst()
            let mask = attentionMask == nil ? nil : rest.popFirst()
            let types = tokenTypeIds == nil ? nil : rest.popFirst()
            return try self.forward(inputIds: inputs[0], attentionMask: mask, tokenTypeIds: types)
        }
    }

    func forward(inputIds: Tensor, attentionMask: Tensor?, tokenTypeIds: Tensor?) throws -> Tensor {
        try checkIndices(inputIds, name: "input_ids", limit: configuration.vocabSize, what: "token ids below vocab_size")
        let (batch, length) = (inputIds.shape[0], inputIds.shape[1])
        guard length <= configuration.maxPositionEmbeddings else {
            throw ModelError.invalidInput(name: "input_ids",
                                          reason: "sequence length \(length) exceeds max_position_embeddings (\(configuration.maxPositionEmbeddings))")
        }
        if let tokenTypeIds {
            try checkIndices(tokenTypeIds, name: "token_type_ids", limit: configuration.typeVocabSize, what: "ids below type_vocab_size",
                             shape: [batch, length])
        }
        var keyBias: Tensor?
        if let attentionMask {
            guard attentionMask.shape == [batch, length] else {
                throw ModelError.invalidInput(name: "attention_mask", reason: "expected shape [\(batch), \(length)], got \(attentionMask.shape)")
            }
            // Hugging Face's extended mask: (1 − mask)·min_float added to every query's scores.
            let minimum = -Float.greatestFiniteMagnitude
            keyBias = attentionMask.to(.float32).map { (1 - $0) * minimum }
        }
        let embedded = try embeddings(inputIds: inputIds, tokenTypeIds: tokenTypeIds)
        let hidden = try encoder(embedded, keyBias: keyBias)
        if let pooler { _ = try pooler(hidden) }
        return hidden
    }

    private func checkIndices(_ tensor: Tensor, name: String, limit: Int, what: String, shape: [Int]? = nil) throws {
        guard [.int64, .int32].contains(tensor.dtype) else {
            throw ModelError.invalidInput(name: name, reason: "expected int64 or int32, got \(tensor.dtype)")
        }
        if let shape {
            guard tensor.shape == shape else { throw ModelError.invalidInput(name: name, reason: "expected shape \(shape), got \(tensor.shape)") }
        } else {
            guard tensor.rank == 2, tensor.shape[0] > 0, tensor.shape[1] > 0 else {
                throw ModelError.invalidInput(name: name, reason: "expected a non-empty [batch, sequence] tensor, got shape \(tensor.shape)")
            }
        }
        if let bad = tensor.toInt64Array().first(where: { $0 < 0 || $0 >= limit }) {
            throw ModelError.invalidInput(name: name, reason: "\(bad) is out of range (expected \(what): 0..<\(limit))")
        }
    }
}

// MARK: - Embeddings

/// `BertEmbeddings`: word + token type + position embeddings, LayerNorm, dropout.
private final class BertEmbeddings: Module {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    let tokenTypeEmbeddings: Embedding
    let layerNorm: LayerNorm
    let dropout: Dropout
    /// [1, max_position_embeddings] int64 0, 1, 2, … (non-persistent, as in Hugging Face).
    let positionIds: Buffer
    /// [1, max_position_embeddings] int64 zeros (non-persistent).
    let tokenTypeIds: Buffer

    init(_ configuration: BertModel.Configuration) {
        let hidden = configuration.hiddenSize, positions = configuration.maxPositionEmbeddings
        wordEmbeddings = Embedding(embeddingCount: configuration.vocabSize, embeddingDimension: hidden, paddingIndex: configuration.padTokenId)
        positionEmbeddings = Embedding(embeddingCount: positions, embeddingDimension: hidden)
        tokenTypeEmbeddings = Embedding(embeddingCount: configuration.typeVocabSize, embeddingDimension: hidden)
        layerNorm = LayerNorm(hidden, epsilon: configuration.layerNormEps)
        dropout = Dropout(probability: configuration.hiddenDropoutProb)
        positionIds = Buffer(Tensor(shape: [1, positions], elements: (0..<positions).map { Int64($0) }), persistent: false)
        tokenTypeIds = Buffer(Tensor(zeros: [1, positions], dtype: .int64), persistent: false)
        super.init()
    }

    override var keyOverrides: [String: String] { ["layerNorm": "LayerNorm"] }

    func callAsFunction(inputIds: Tensor, tokenTypeIds: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(inputIds: inputIds, tokenTypeIds: tokenTypeIds) }
        return try callWithHooks(inputs: [inputIds] + (tokenTypeIds.map { [$0] } ?? [])) { inputs in
            try self.forward(inputIds: inputs[0], tokenTypeIds: inputs.count > 1 ? inputs[1] : nil)
        }
    }

    private func forward(inputIds: Tensor, tokenTypeIds types: Tensor?) throws -> Tensor {
        let (batch, length) = (inputIds.shape[0], inputIds.shape[1])
        let positions = positionIds.value.sliced(axis: 1, 0..<length)
        // Hugging Face gathers its zero `token_type_ids` buffer; the result is zeros [N, S].
        let types = types ?? Tensor(zeros: [batch, length], dtype: tokenTypeIds.value.dtype)
        var embedded = try wordEmbeddings(inputIds)
        embedded += try tokenTypeEmbeddings(types)
        embedded += try positionEmbeddings(positions)
        return try dropout(layerNorm(embedded))
    }
}

// MARK: - Encoder

/// `BertEncoder`: the layers in order (`encoder.layer.N`).
private final class BertEncoder: Module {
    let layer: ModuleList<BertLayer>

    init(_ configuration: BertModel.Configuration) {
        layer = ModuleList((0..<configuration.numHiddenLayers).map { _ in BertLayer(configuration) })
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, keyBias: keyBias) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], keyBias: keyBias) }
    }

    private func forward(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        var hidden = hidden
        for block in layer { hidden = try block(hidden, keyBias: keyBias) }
        return hidden
    }
}

/// `BertLayer`: attention, then the feed-forward (intermediate + output).
private final class BertLayer: Module {
    let attention: BertAttention
    let intermediate: BertIntermediate
    let output: BertOutput

    init(_ configuration: BertModel.Configuration) {
        attention = BertAttention(configuration)
        intermediate = BertIntermediate(configuration)
        output = BertOutput(configuration)
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, keyBias: keyBias) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], keyBias: keyBias) }
    }

    private func forward(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        let attended = try attention(hidden, keyBias: keyBias)
        return try output(intermediate(attended), residual: attended)
    }
}

/// `BertAttention`: self-attention, then its output projection with the residual and LayerNorm.
private final class BertAttention: Module {
    /// Hugging Face's `self` (a Swift keyword, hence the property name).
    let selfAttention: BertSelfAttention
    let output: BertSelfOutput

    init(_ configuration: BertModel.Configuration) {
        selfAttention = BertSelfAttention(configuration)
        output = BertSelfOutput(configuration)
        super.init()
    }

    override var keyOverrides: [String: String] { ["selfAttention": "self"] }

    func callAsFunction(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, keyBias: keyBias) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], keyBias: keyBias) }
    }

    private func forward(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        try output(selfAttention(hidden, keyBias: keyBias), residual: hidden)
    }
}

/// `BertSelfAttention`: query/key/value projections and scaled dot-product attention over heads.
/// Reports its attention probabilities to attention hooks (`AttentionReporting`; the packed
/// projection and fused kernel are then left for the unfused form).
private final class BertSelfAttention: Module, AttentionReporting {
    let query: Linear
    let key: Linear
    let value: Linear
    /// Attention-probability dropout; applied functionally in training, as Hugging Face does
    /// (the module itself is never called, so it is not a layer of its own).
    let dropout: Dropout
    let headCount: Int
    /// q|k|v weights concatenated and packed for the one-GEMM projection (shared with replicas).
    private var packedProjection: PackedWeights?

    init(_ configuration: BertModel.Configuration) {
        let hidden = configuration.hiddenSize
        query = Linear(inFeatures: hidden, outFeatures: hidden)
        key = Linear(inFeatures: hidden, outFeatures: hidden)
        value = Linear(inFeatures: hidden, outFeatures: hidden)
        dropout = Dropout(probability: configuration.attentionProbsDropoutProb)
        headCount = configuration.numAttentionHeads
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, keyBias: keyBias) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], keyBias: keyBias) }
    }

    private func forward(_ hidden: Tensor, keyBias: Tensor?) throws -> Tensor {
        let projections = [query, key, value]
        let training = isTraining && dropout.probability > 0
        if !training, !hasAttentionHooks, projections.allSatisfy(\.canSkipHooks), hidden.dtype == .float32,
           !Tensor.shouldRecord([hidden] + projections.flatMap { [$0.weight.value] + ($0.bias.map { [$0.value] } ?? []) }) {
            let packed = packedProjectionWeights()
            let qkv = packed.linear(hidden, bias: packed.bias)
            return Tensor.multiHeadAttention(packedProjections: qkv, headCount: headCount, keyBias: keyBias)
        }
        let q = try query(hidden), k = try key(hidden), v = try value(hidden)
        guard training else { return try multiHeadAttention(query: q, key: k, value: v, headCount: headCount, keyBias: keyBias) }
        // Training: eager attention with dropout on the probabilities.
        let (batch, length, width) = (q.shape[0], q.shape[1], q.shape[2])
        let headSize = width / headCount
        func heads(_ x: Tensor) -> Tensor { x.reshaped([batch, length, headCount, headSize]).permuted([0, 2, 1, 3]) }
        var scores = Tensor.matmul(heads(q), heads(k), transposeB: true) * (1 / Float(headSize).squareRoot())
        if let keyBias { scores = scores + keyBias.reshaped([batch, 1, 1, length]) }
        let probabilities = scores.softmax(axis: -1)
        if hasAttentionHooks { try reportAttention(probabilities) }
        let dropped = try dropout.forward(probabilities)
        return Tensor.matmul(dropped, heads(v)).permuted([0, 2, 1, 3]).reshaped([batch, length, width])
    }

    /// [Wq; Wk; Wv] [3H, H] packed, biases [3H]: built once per weight set, shared by replicas.
    private func packedProjectionWeights() -> PackedWeights {
        var sources: [Tensor] = []
        for linear in [query, key, value] {
            sources.append(linear.weight.value)
            if let bias = linear.bias { sources.append(bias.value) }
        }
        // Per-channel int8 scales make quantizing the concatenation the same as quantizing each part
        // (and bf16 rounds each value on its own).
        let precision = query.precision, kind = PackedWeights.linearKind("bert-qkv", precision: precision)
        if let packedProjection, packedProjection.isBuilt(from: sources, kind: kind) { return packedProjection }
        let packed = PackedWeightCache.shared.weights(kind: kind, sources: sources) {
            let weights = [query, key, value].map { $0.weight.value.to(.float32).detached() }
            let biases = [query, key, value].map { $0.bias?.value.to(.float32).detached() ?? Tensor(zeros: [$0.outFeatures]) }
            return .linear(weight: Tensor.concatenate(weights, axis: 0), bias: Tensor.concatenate(biases, axis: 0), precision: precision)
        }
        packedProjection = packed
        return packed
    }
}

/// `BertSelfOutput` and `BertOutput`: dense, dropout, then LayerNorm(x + residual).
private class BertResidualOutput: Module {
    let dense: Linear
    let layerNorm: LayerNorm
    let dropout: Dropout

    init(inFeatures: Int, _ configuration: BertModel.Configuration) {
        dense = Linear(inFeatures: inFeatures, outFeatures: configuration.hiddenSize)
        layerNorm = LayerNorm(configuration.hiddenSize, epsilon: configuration.layerNormEps)
        dropout = Dropout(probability: configuration.hiddenDropoutProb)
        super.init()
    }

    override var keyOverrides: [String: String] { ["layerNorm": "LayerNorm"] }

    func callAsFunction(_ hidden: Tensor, residual: Tensor) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, residual: residual) }
        return try callWithHooks(inputs: [hidden, residual]) { try self.forward($0[0], residual: $0[1]) }
    }

    private func forward(_ hidden: Tensor, residual: Tensor) throws -> Tensor {
        // Fused: residual + hidden·Wᵀ + b in one GEMM (accumulating into a copy of the residual).
        if dense.canSkipHooks, dropout.canSkipHooks, !(isTraining && dropout.probability > 0),
           hidden.dtype == .float32, residual.dtype == .float32, hidden.shape.last == dense.inFeatures,
           residual.shape == Array(hidden.shape.dropLast()) + [dense.outFeatures],
           !Tensor.shouldRecord(hidden, residual, dense.weight.value) {
            let weights = dense.inferenceWeights()
            return try layerNorm(weights.linear(hidden, bias: weights.bias, adding: residual))
        }
        let projected = try dropout(dense(hidden))
        guard projected.shape == residual.shape else {
            throw ModelError.invalidInput(name: "hidden_states", reason: "residual shapes \(projected.shape) and \(residual.shape) differ")
        }
        return try layerNorm(projected + residual)
    }
}

/// `BertSelfOutput`: the attention output projection.
private final class BertSelfOutput: BertResidualOutput {
    init(_ configuration: BertModel.Configuration) { super.init(inFeatures: configuration.hiddenSize, configuration) }
}

/// `BertOutput`: the feed-forward output projection.
private final class BertOutput: BertResidualOutput {
    init(_ configuration: BertModel.Configuration) { super.init(inFeatures: configuration.intermediateSize, configuration) }
}

/// `BertIntermediate`: dense, then the hidden activation.
private final class BertIntermediate: Module {
    let dense: Linear
    let intermediateActFn: UnaryModule

    init(_ configuration: BertModel.Configuration) {
        dense = Linear(inFeatures: configuration.hiddenSize, outFeatures: configuration.intermediateSize)
        intermediateActFn = HiddenActivation.make(configuration.hiddenAct)
        super.init()
    }

    func callAsFunction(_ hidden: Tensor) throws -> Tensor {
        if canSkipHooks { return try forward(hidden) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0]) }
    }

    private func forward(_ hidden: Tensor) throws -> Tensor {
        if dense.canFuseEpilogue(hidden, then: intermediateActFn) {
            let packed = dense.inferenceWeights()
            if let gelu = intermediateActFn as? HiddenActivation, let approximation = gelu.geluApproximation {
                return packed.linearGELU(hidden, approximation: approximation)
            }
            if intermediateActFn is ReLU {
                return packed.linear(hidden, bias: packed.bias, relu: true)
            }
        }
        return try intermediateActFn(dense(hidden))
    }
}

// MARK: - Pooler

/// `BertPooler`: the first token's hidden state through dense + tanh.
private final class BertPooler: UnaryModule {
    let dense: Linear
    let activation = Tanh()

    init(_ configuration: BertModel.Configuration) {
        dense = Linear(inFeatures: configuration.hiddenSize, outFeatures: configuration.hiddenSize)
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        try activation(dense(input.selecting(axis: 1, index: 0)))
    }
}
