import NN
import Tensors

// Mirrors Hugging Face transformers' CLIP (models/clip/modeling_clip.py, transformers 5.25): `CLIPModel`
// with its text tower (`CLIPTextModel`: token + position embeddings, causal self-attention layers,
// `final_layer_norm`, pooling at the EOS token), its vision tower (`CLIPVisionModel`: patch
// convolution without bias, class embedding, position embeddings, `pre_layrnorm`, the same encoder
// layers, `post_layernorm` on the pooled CLS token), `visual_projection`, `text_projection` and
// `logit_scale`. Keys and names are transformers' (`vision_model.encoder.layers.0.self_attn.q_proj`);
// the non-persistent `position_ids` buffers older checkpoints carry are set aside on load.

/// CLIP: `pixel_values` [N, 3, S, S] run the vision tower and give `image_embeds` (the visual
/// projection of the pooled CLS state); `input_ids` [N, L] (with an optional `attention_mask`) run
/// the text tower and give `text_embeds`. With both, the output is `logits_per_image` [images, texts]
/// (cosine similarities times exp(logit_scale)), as `CLIPModel.forward`'s first output.
public final class CLIPModel: Module {
    // MARK: - Configuration

    /// One tower's encoder settings (`text_config` / `vision_config`).
    public struct Tower: Sendable, Equatable {
        public var hiddenSize: Int
        public var intermediateSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var hiddenAct: String
        public var layerNormEps: Double

        public init(hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                    hiddenAct: String = "quick_gelu", layerNormEps: Double = 1e-5) {
            self.hiddenSize = hiddenSize
            self.intermediateSize = intermediateSize
            self.numHiddenLayers = numHiddenLayers
            self.numAttentionHeads = numAttentionHeads
            self.hiddenAct = hiddenAct
            self.layerNormEps = layerNormEps
        }
    }

    /// The fields of a Hugging Face `CLIPConfig` this model uses (others are ignored), with its defaults
    /// (openai/clip-vit-base-patch32's shapes).
    public struct Configuration: Decodable, Sendable, Equatable {
        public var text: Tower
        public var vision: Tower
        public var vocabSize: Int
        public var maxPositionEmbeddings: Int
        /// The EOS id the text tower pools at (its first occurrence); 2 means "the largest id", as
        /// transformers keeps for configurations written before its PR #24773.
        public var eosTokenId: Int
        public var imageSize: Int
        public var patchSize: Int
        public var numChannels: Int
        public var projectionDim: Int
        public var logitScaleInitValue: Double

        public init(text: Tower = Tower(hiddenSize: 512, intermediateSize: 2048, numHiddenLayers: 12, numAttentionHeads: 8),
                    vision: Tower = Tower(hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12),
                    vocabSize: Int = 49408, maxPositionEmbeddings: Int = 77, eosTokenId: Int = 49407, imageSize: Int = 224,
                    patchSize: Int = 32, numChannels: Int = 3, projectionDim: Int = 512, logitScaleInitValue: Double = 2.6592) {
            self.text = text
            self.vision = vision
            self.vocabSize = vocabSize
            self.maxPositionEmbeddings = maxPositionEmbeddings
            self.eosTokenId = eosTokenId
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.numChannels = numChannels
            self.projectionDim = projectionDim
            self.logitScaleInitValue = logitScaleInitValue
        }

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        /// A tower's JSON object (`text_config`, `vision_config`) as plain values.
        private struct Section: Decodable {
            var values: [String: Any] = [:]

            init() {}

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Key.self)
                for key in container.allKeys {
                    if let int = try? container.decode(Int.self, forKey: key) { values[key.stringValue] = int }
                    else if let double = try? container.decode(Double.self, forKey: key) { values[key.stringValue] = double }
                    else if let string = try? container.decode(String.self, forKey: key) { values[key.stringValue] = string }
                }
            }

            /// `name`'s positive integer, or `value` when absent; errors name `section.name`.
            func positive(_ section: String, _ name: String, _ value: Int) throws -> Int {
                guard let raw = values[name] else { return value }
                guard let number = raw as? Int, number > 0 else {
                    throw ModelError.invalidConfiguration(field: "\(section).\(name)", expected: "a positive integer")
                }
                return number
            }

            func tower(_ section: String, defaults: Tower) throws -> Tower {
                var activation = defaults.hiddenAct
                if let raw = values["hidden_act"] {
                    guard let name = raw as? String, HiddenActivation.names.contains(name) else {
                        throw ModelError.invalidConfiguration(field: "\(section).hidden_act",
                                                              expected: "one of " + HiddenActivation.names.joined(separator: ", "))
                    }
                    activation = name
                }
                var epsilon = defaults.layerNormEps
                if let raw = values["layer_norm_eps"] {
                    guard let value = (raw as? Double) ?? (raw as? Int).map(Double.init), value > 0 else {
                        throw ModelError.invalidConfiguration(field: "\(section).layer_norm_eps", expected: "a positive number")
                    }
                    epsilon = value
                }
                return Tower(hiddenSize: try positive(section, "hidden_size", defaults.hiddenSize),
                             intermediateSize: try positive(section, "intermediate_size", defaults.intermediateSize),
                             numHiddenLayers: try positive(section, "num_hidden_layers", defaults.numHiddenLayers),
                             numAttentionHeads: try positive(section, "num_attention_heads", defaults.numAttentionHeads),
                             hiddenAct: activation, layerNormEps: epsilon)
            }
        }

        public init(from decoder: any Decoder) throws {
            let fields = try ConfigurationFields(decoder, architecture: "clip")
            if fields.contains("model_type") { _ = try fields.choice("model_type", from: ["clip"]) }
            let text = try fields.value("text_config", expected: "an object of text-tower settings", default: Section())
            let vision = try fields.value("vision_config", expected: "an object of vision-tower settings", default: Section())
            let defaults = Configuration()
            let vocabSize = try text.positive("text_config", "vocab_size", defaults.vocabSize)
            var eos = defaults.eosTokenId
            if let raw = text.values["eos_token_id"] {
                guard let id = raw as? Int, id >= 0, id < vocabSize else {
                    throw ModelError.invalidConfiguration(field: "text_config.eos_token_id", expected: "a token id below vocab_size (\(vocabSize))")
                }
                eos = id
            }
            self.init(text: try text.tower("text_config", defaults: defaults.text), vision: try vision.tower("vision_config", defaults: defaults.vision),
                      vocabSize: vocabSize, maxPositionEmbeddings: try text.positive("text_config", "max_position_embeddings", 77), eosTokenId: eos,
                      imageSize: try vision.positive("vision_config", "image_size", 224),
                      patchSize: try vision.positive("vision_config", "patch_size", 32),
                      numChannels: try vision.positive("vision_config", "num_channels", 3),
                      projectionDim: try fields.value("projection_dim", expected: "a positive integer", default: 512) { $0 > 0 },
                      logitScaleInitValue: try fields.value("logit_scale_init_value", expected: "a number", default: 2.6592) { $0.isFinite })
            try validate()
        }

        /// Combinations `CLIPModel` cannot build.
        public func validate() throws {
            for (section, tower) in [("text_config", text), ("vision_config", vision)] {
                guard tower.hiddenSize % tower.numAttentionHeads == 0 else {
                    throw ModelError.invalidConfiguration(field: "\(section).hidden_size",
                                                          expected: "a multiple of num_attention_heads (\(tower.numAttentionHeads))")
                }
                guard HiddenActivation.names.contains(tower.hiddenAct) else {
                    throw ModelError.invalidConfiguration(field: "\(section).hidden_act", expected: "one of " + HiddenActivation.names.joined(separator: ", "))
                }
            }
            guard imageSize >= patchSize else {
                throw ModelError.invalidConfiguration(field: "vision_config.image_size", expected: "at least patch_size (\(patchSize))")
            }
            guard eosTokenId < vocabSize else {
                throw ModelError.invalidConfiguration(field: "text_config.eos_token_id", expected: "a token id below vocab_size (\(vocabSize))")
            }
        }

        /// Patches per side.
        var gridSize: Int { imageSize / patchSize }
    }

    // MARK: - Modules

    public let configuration: Configuration
    let textModel: CLIPTextTransformer
    let visionModel: CLIPVisionTransformer
    let visualProjection: Linear
    let textProjection: Linear
    let logitScale: Parameter

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        textModel = CLIPTextTransformer(configuration)
        visionModel = CLIPVisionTransformer(configuration)
        visualProjection = Linear(inFeatures: configuration.vision.hiddenSize, outFeatures: configuration.projectionDim, bias: false)
        textProjection = Linear(inFeatures: configuration.text.hiddenSize, outFeatures: configuration.projectionDim, bias: false)
        logitScale = Parameter(Tensor(shape: [], scalars: [Float(configuration.logitScaleInitValue)]))
        super.init()
        initializeWeights()
    }

    /// Transformers' `_init_weights` (initializer_factor 1): normal embeddings and projections with
    /// the tower-dependent deviations, zero biases, unit LayerNorms.
    private func initializeWeights() {
        for (tower, settings) in [(textModel.encoder, configuration.text), (visionModel.encoder, configuration.vision)] {
            let width = Float(settings.hiddenSize), depth = Float(2 * settings.numHiddenLayers)
            for layer in tower.layers {
                let inProjection = 1 / width.squareRoot() / depth.squareRoot()
                for linear in [layer.selfAttn.qProj, layer.selfAttn.kProj, layer.selfAttn.vProj] {
                    Initializers.normal(linear.weight, standardDeviation: inProjection)
                }
                Initializers.normal(layer.selfAttn.outProj.weight, standardDeviation: 1 / width.squareRoot())
                Initializers.normal(layer.mlp.fc1.weight, standardDeviation: 1 / (2 * width).squareRoot())
                Initializers.normal(layer.mlp.fc2.weight, standardDeviation: inProjection)
                for linear in [layer.selfAttn.qProj, layer.selfAttn.kProj, layer.selfAttn.vProj, layer.selfAttn.outProj, layer.mlp.fc1, layer.mlp.fc2] {
                    if let bias = linear.bias { Initializers.zeros(bias) }
                }
            }
        }
        Initializers.normal(textModel.embeddings.tokenEmbedding.weight, standardDeviation: 0.02)
        Initializers.normal(textModel.embeddings.positionEmbedding.weight, standardDeviation: 0.02)
        let vision = visionModel.embeddings
        Initializers.normal(vision.classEmbedding, standardDeviation: 1 / Float(configuration.vision.hiddenSize).squareRoot())
        Initializers.normal(vision.patchEmbedding.weight, standardDeviation: 0.02)
        Initializers.normal(vision.positionEmbedding.weight, standardDeviation: 0.02)
        Initializers.normal(textProjection.weight, standardDeviation: 1 / Float(configuration.text.hiddenSize).squareRoot())
        Initializers.normal(visualProjection.weight, standardDeviation: 1 / Float(configuration.vision.hiddenSize).squareRoot())
    }

    /// Runs the towers the inputs call for: `pixelValues` [N, C, S, S] → image embeddings [N, projection];
    /// `inputIds` [N, L] (`attentionMask` [N, L]: 1 = token, 0 = padding) → text embeddings; both →
    /// `logits_per_image` [images, texts]. Hooks on the model see the given tensors, pixels first.
    public func callAsFunction(pixelValues: Tensor?, inputIds: Tensor?, attentionMask: Tensor? = nil) throws -> Tensor {
        guard pixelValues != nil || inputIds != nil else {
            throw ModelError.missingInput("pixel_values", expected: "pixel_values (an image batch) or input_ids (token ids)")
        }
        if canSkipHooks { return try forward(pixelValues: pixelValues, inputIds: inputIds, attentionMask: attentionMask) }
        let inputs = [pixelValues, inputIds, attentionMask].compactMap { $0 }
        return try callWithHooks(inputs: inputs) { inputs in
            var rest = inputs[...]
            let pixels = pixelValues == nil ? nil : rest.popFirst()
            let ids = inputIds == nil ? nil : rest.popFirst()
            let mask = attentionMask == nil ? nil : rest.popFirst()
            return try self.forward(pixelValues: pixels, inputIds: ids, attentionMask: mask)
        }
    }

    func forward(pixelValues: Tensor?, inputIds: Tensor?, attentionMask: Tensor?) throws -> Tensor {
        var imageEmbeds: Tensor?, textEmbeds: Tensor?
        if let pixelValues {
            let size = configuration.imageSize, channels = configuration.numChannels
            guard pixelValues.shape.count == 4, pixelValues.shape[1] == channels, pixelValues.shape[2] == size, pixelValues.shape[3] == size else {
                throw ModelError.invalidInput(name: "pixel_values", reason: "expected an image batch [N, \(channels), \(size), \(size)], got shape \(pixelValues.shape)")
            }
            imageEmbeds = try visualProjection(visionModel(pixelValues.to(.float32)).pooled)
        }
        if let inputIds {
            textEmbeds = try textProjection(textModel(inputIds: inputIds, attentionMask: attentionMask).pooled)
        }
        guard let imageEmbeds else { return textEmbeds! }
        guard let textEmbeds else { return imageEmbeds }
        // logits_per_image: normalized image · normalized textᵀ · exp(logit_scale).
        func normalized(_ x: Tensor) -> Tensor { x / (x * x).sum(axes: [1], keepingDimensions: true).sqrt() }
        return Tensor.matmul(normalized(imageEmbeds), normalized(textEmbeds), transposeB: true) * logitScale.value.to(.float32).exp()
    }

    // MARK: - Weights

    /// CLIPModel keys from a checkpoint: the `position_ids` buffers older files carry are set aside.
    static func normalizeWeights(_ state: StateDict) -> (weights: StateDict, ignored: [String]) {
        var weights = StateDict(), ignored: [String] = []
        for (key, tensor) in state {
            if key.hasSuffix("embeddings.position_ids") { ignored.append(key) } else { weights[key] = tensor }
        }
        return (weights, ignored)
    }
}

// MARK: - Text tower

/// `CLIPTextModel`'s transformer: embeddings, causal encoder, final LayerNorm; the output is the
/// last hidden state, the pooled state is taken at each sequence's EOS token.
final class CLIPTextTransformer: Module {
    let embeddings: CLIPTextEmbeddings
    let encoder: CLIPEncoder
    let finalLayerNorm: LayerNorm
    let eosTokenId: Int
    let vocabSize: Int

    init(_ configuration: CLIPModel.Configuration) {
        embeddings = CLIPTextEmbeddings(configuration)
        encoder = CLIPEncoder(configuration.text)
        finalLayerNorm = LayerNorm(configuration.text.hiddenSize, epsilon: configuration.text.layerNormEps)
        eosTokenId = configuration.eosTokenId
        vocabSize = configuration.vocabSize
        super.init()
    }

    override var typeName: String { "CLIPTextModel" }

    /// Hooks see `[inputIds, attentionMask?]` and the last hidden state.
    func callAsFunction(inputIds: Tensor, attentionMask: Tensor?) throws -> (hidden: Tensor, pooled: Tensor) {
        if canSkipHooks { return try forward(inputIds: inputIds, attentionMask: attentionMask) }
        return try callWithHooks(inputs: [inputIds] + (attentionMask.map { [$0] } ?? []), primaryOutput: { $0.hidden },
                                 replacingPrimaryOutput: { output, hidden in (hidden, output.pooled) }) { inputs in
            try self.forward(inputIds: inputs[0], attentionMask: inputs.count > 1 ? inputs[1] : nil)
        }
    }

    private func forward(inputIds: Tensor, attentionMask: Tensor?) throws -> (hidden: Tensor, pooled: Tensor) {
        guard [.int64, .int32].contains(inputIds.dtype), inputIds.rank == 2, inputIds.shape[0] > 0, inputIds.shape[1] > 0 else {
            throw ModelError.invalidInput(name: "input_ids", reason: "expected non-empty int64 [batch, sequence] token ids, got \(inputIds.dtype) \(inputIds.shape)")
        }
        let (batch, length) = (inputIds.shape[0], inputIds.shape[1])
        let ids = inputIds.toInt64Array()
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw ModelError.invalidInput(name: "input_ids", reason: "\(bad) is out of range (expected token ids below vocab_size: 0..<\(vocabSize))")
        }
        let limit = embeddings.positionEmbedding.embeddingCount
        guard length <= limit else {
            throw ModelError.invalidInput(name: "input_ids", reason: "sequence length \(length) exceeds max_position_embeddings (\(limit))")
        }
        var keep = [Int64](repeating: 1, count: batch * length)
        if let attentionMask {
            guard attentionMask.shape == [batch, length] else {
                throw ModelError.invalidInput(name: "attention_mask", reason: "expected shape [\(batch), \(length)], got \(attentionMask.shape)")
            }
            keep = attentionMask.to(.int64).toInt64Array()
        }
        // The causal mask with the padding keys masked too (transformers' `create_causal_mask`):
        // 0 where query i may see key j (j ≤ i and j is a token), the lowest float elsewhere.
        var bias = [Float](repeating: -Float.greatestFiniteMagnitude, count: batch * length * length)
        for b in 0..<batch {
            for i in 0..<length {
                for j in 0...i where keep[b * length + j] != 0 { bias[(b * length + i) * length + j] = 0 }
            }
        }
        let mask = Tensor(shape: [batch, 1, length, length], scalars: bias)
        let hidden = try finalLayerNorm(encoder(embeddings(inputIds), mask: mask))
        // Pooling: the first EOS of each row (the largest id when eos_token_id is transformers' legacy 2).
        var rows: [Tensor] = []
        for b in 0..<batch {
            let row = ids[(b * length)..<((b + 1) * length)]
            let position: Int
            if eosTokenId == 2 {
                let maximum = row.max()!
                position = row.firstIndex(of: maximum)! - b * length
            } else {
                position = (row.firstIndex(of: Int64(eosTokenId)) ?? b * length) - b * length
            }
            rows.append(hidden.selecting(axis: 0, index: b).sliced(axis: 0, position..<(position + 1)))
        }
        return (hidden, Tensor.concatenate(rows, axis: 0))
    }
}

/// Token embeddings plus position embeddings (no LayerNorm: CLIP normalizes in each layer).
final class CLIPTextEmbeddings: UnaryModule {
    let tokenEmbedding: Embedding
    let positionEmbedding: Embedding
    /// [1, max_position_embeddings] int64 0, 1, 2, … (non-persistent, as in transformers).
    let positionIds: Buffer

    init(_ configuration: CLIPModel.Configuration) {
        let hidden = configuration.text.hiddenSize, positions = configuration.maxPositionEmbeddings
        tokenEmbedding = Embedding(embeddingCount: configuration.vocabSize, embeddingDimension: hidden)
        positionEmbedding = Embedding(embeddingCount: positions, embeddingDimension: hidden)
        positionIds = Buffer(Tensor(shape: [1, positions], elements: (0..<positions).map { Int64($0) }), persistent: false)
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        var embedded = try tokenEmbedding(input)
        embedded += try positionEmbedding(positionIds.value.sliced(axis: 1, 0..<input.shape[1]))
        return embedded
    }
}

// MARK: - Vision tower

/// `CLIPVisionModel`'s transformer: embeddings, `pre_layrnorm`, encoder; the output is the last
/// hidden state, the pooled state `post_layernorm` of its CLS token.
final class CLIPVisionTransformer: Module {
    let embeddings: CLIPVisionEmbeddings
    let preLayrnorm: LayerNorm
    let encoder: CLIPEncoder
    let postLayernorm: LayerNorm

    init(_ configuration: CLIPModel.Configuration) {
        let tower = configuration.vision
        embeddings = CLIPVisionEmbeddings(configuration)
        preLayrnorm = LayerNorm(tower.hiddenSize, epsilon: tower.layerNormEps)
        encoder = CLIPEncoder(tower)
        postLayernorm = LayerNorm(tower.hiddenSize, epsilon: tower.layerNormEps)
        super.init()
    }

    override var typeName: String { "CLIPVisionModel" }

    func callAsFunction(_ pixels: Tensor) throws -> (hidden: Tensor, pooled: Tensor) {
        if canSkipHooks { return try forward(pixels) }
        return try callWithHooks(inputs: [pixels], primaryOutput: { $0.hidden },
                                 replacingPrimaryOutput: { output, hidden in (hidden, output.pooled) }) { try self.forward($0[0]) }
    }

    private func forward(_ pixels: Tensor) throws -> (hidden: Tensor, pooled: Tensor) {
        let hidden = try encoder(preLayrnorm(embeddings(pixels)), mask: nil)
        return (hidden, try postLayernorm(hidden.selecting(axis: 1, index: 0)))
    }
}

/// Class embedding, patch embeddings (a p × p convolution with stride p, no bias) and position embeddings.
final class CLIPVisionEmbeddings: UnaryModule {
    let classEmbedding: Parameter
    let patchEmbedding: Conv2d
    let positionEmbedding: Embedding
    /// [1, patches + 1] int64 (non-persistent).
    let positionIds: Buffer

    init(_ configuration: CLIPModel.Configuration) {
        let hidden = configuration.vision.hiddenSize, positions = configuration.gridSize * configuration.gridSize + 1
        classEmbedding = Parameter(Tensor(zeros: [hidden]))
        patchEmbedding = Conv2d(inChannels: configuration.numChannels, outChannels: hidden, kernelSize: IntPair(configuration.patchSize),
                                stride: IntPair(configuration.patchSize), bias: false)
        positionEmbedding = Embedding(embeddingCount: positions, embeddingDimension: hidden)
        positionIds = Buffer(Tensor(shape: [1, positions], elements: (0..<positions).map { Int64($0) }), persistent: false)
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        let patches = try patchEmbedding(input).flattened(startAxis: 2).transposed(1, 2)
        let (batch, hidden) = (patches.shape[0], patches.shape[2])
        var embedded = Tensor.concatenate([classEmbedding.value.to(.float32).reshaped([1, 1, hidden]).broadcast(to: [batch, 1, hidden]), patches], axis: 1)
        embedded += try positionEmbedding(positionIds.value)
        return embedded
    }
}

// MARK: - Encoder (both towers)

/// The layers in order (`encoder.layers.N`); `mask` is an additive [N, 1, L, L] attention mask (text) or nil.
final class CLIPEncoder: Module {
    let layers: ModuleList<CLIPEncoderLayer>

    init(_ tower: CLIPModel.Tower) {
        layers = ModuleList((0..<tower.numHiddenLayers).map { _ in CLIPEncoderLayer(tower) })
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, mask: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, mask: mask) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], mask: mask) }
    }

    private func forward(_ hidden: Tensor, mask: Tensor?) throws -> Tensor {
        var hidden = hidden
        for layer in layers { hidden = try layer(hidden, mask: mask) }
        return hidden
    }
}

/// Pre-norm residual block: layer_norm1 → self-attention (+ residual), layer_norm2 → MLP (+ residual).
final class CLIPEncoderLayer: Module {
    let selfAttn: CLIPAttention
    let layerNorm1: LayerNorm
    let mlp: CLIPMLP
    let layerNorm2: LayerNorm

    init(_ tower: CLIPModel.Tower) {
        selfAttn = CLIPAttention(tower)
        layerNorm1 = LayerNorm(tower.hiddenSize, epsilon: tower.layerNormEps)
        mlp = CLIPMLP(tower)
        layerNorm2 = LayerNorm(tower.hiddenSize, epsilon: tower.layerNormEps)
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, mask: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, mask: mask) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], mask: mask) }
    }

    private func forward(_ input: Tensor, mask: Tensor?) throws -> Tensor {
        var hidden = try selfAttn(layerNorm1(input), mask: mask)
        hidden += input
        var output = try mlp(layerNorm2(hidden))
        output += hidden
        return output
    }
}

/// Query, key and value projections, scaled dot-product attention over heads (with the text
/// tower's causal mask), output projection. Declared in transformers' order (k, v, q, out).
/// Reports its attention probabilities to attention hooks (`AttentionReporting`).
final class CLIPAttention: Module, AttentionReporting {
    let kProj: Linear
    let vProj: Linear
    let qProj: Linear
    let outProj: Linear
    let headCount: Int

    init(_ tower: CLIPModel.Tower) {
        let hidden = tower.hiddenSize
        kProj = Linear(inFeatures: hidden, outFeatures: hidden)
        vProj = Linear(inFeatures: hidden, outFeatures: hidden)
        qProj = Linear(inFeatures: hidden, outFeatures: hidden)
        outProj = Linear(inFeatures: hidden, outFeatures: hidden)
        headCount = tower.numAttentionHeads
        super.init()
    }

    func callAsFunction(_ hidden: Tensor, mask: Tensor?) throws -> Tensor {
        if canSkipHooks { return try forward(hidden, mask: mask) }
        return try callWithHooks(inputs: [hidden]) { try self.forward($0[0], mask: mask) }
    }

    private func forward(_ hidden: Tensor, mask: Tensor?) throws -> Tensor {
        let q = try qProj(hidden), k = try kProj(hidden), v = try vProj(hidden)
        guard let mask else { return try outProj(multiHeadAttention(query: q, key: k, value: v, headCount: headCount)) }
        let (context, probabilities) = Tensor.multiHeadAttentionWithProbabilities(query: q, key: k, value: v, headCount: headCount,
                                                                                  additiveMask: mask)
        if hasAttentionHooks { try reportAttention(probabilities) }
        return try outProj(context)
    }
}

/// fc1 → activation (`hidden_act`, quick_gelu by default) → fc2.
final class CLIPMLP: UnaryModule {
    let activationFn: UnaryModule
    let fc1: Linear
    let fc2: Linear

    init(_ tower: CLIPModel.Tower) {
        activationFn = HiddenActivation.make(tower.hiddenAct)
        fc1 = Linear(inFeatures: tower.hiddenSize, outFeatures: tower.intermediateSize)
        fc2 = Linear(inFeatures: tower.intermediateSize, outFeatures: tower.hiddenSize)
        super.init()
    }

    override func forward(_ input: Tensor) throws -> Tensor {
        if let gelu = activationFn as? HiddenActivation, let approximation = gelu.geluApproximation, fc1.canFuseEpilogue(input, then: activationFn) {
            return try fc2(fc1.inferenceWeights().linearGELU(input, approximation: approximation))
        }
        return try fc2(activationFn(fc1(input)))
    }
}
