import NN
import Tensors

// Mirrors torchvision.models.vision_transformer (torchvision/models/vision_transformer.py, v0.29):
// `VisionTransformer`, `Encoder`, `EncoderBlock`, `MLPBlock`, the weight initialization, and the
// presets vit_b_16, vit_b_32, vit_l_16, vit_l_32, vit_h_14. Keys and names are torchvision's:
// `conv_proj`, `class_token`, `encoder.pos_embedding`, `encoder.dropout`,
// `encoder.layers.encoder_layer_N.{ln_1, self_attention, dropout, ln_2, mlp.{0..4}}`, `encoder.ln`,
// `heads.head` (and `heads.pre_logits`, `heads.act` with a representation layer).
//
// Inference fast paths (same numbers): self-attention runs `MultiheadAttention`'s packed path (one
// GEMM for q|k|v, heads read in place); the MLP block runs Linear → GELU with the bias added inside
// the GELU pass; the residual adds are in place. Each only while no hook watches the modules.

/// torchvision's Vision Transformer: input [N, 3, image_size, image_size], output logits [N, classes].
public final class VisionTransformer: UnaryModule {
    // MARK: - Configuration

    /// torchvision's `VisionTransformer` arguments, decodable from JSON with the same names.
    public struct Configuration: Decodable, Sendable, Equatable {
        public var imageSize: Int
        public var patchSize: Int
        public var numLayers: Int
        public var numHeads: Int
        public var hiddenDim: Int
        public var mlpDim: Int
        public var dropout: Double
        public var attentionDropout: Double
        public var numClasses: Int
        /// A tanh pre-logits layer of this width before the head, or none.
        public var representationSize: Int?

        public init(imageSize: Int, patchSize: Int, numLayers: Int, numHeads: Int, hiddenDim: Int, mlpDim: Int,
                    dropout: Double = 0, attentionDropout: Double = 0, numClasses: Int = 1000, representationSize: Int? = nil) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.numLayers = numLayers
            self.numHeads = numHeads
            self.hiddenDim = hiddenDim
            self.mlpDim = mlpDim
            self.dropout = dropout
            self.attentionDropout = attentionDropout
            self.numClasses = numClasses
            self.representationSize = representationSize
        }

        static let fieldNames = ["image_size", "patch_size", "num_layers", "num_heads", "hidden_dim", "mlp_dim", "dropout",
                                 "attention_dropout", "num_classes", "representation_size"]

        /// Decodes the fields; absent ones take the values of the preset in `decoder.userInfo[.architecturePreset]`.
        public init(from decoder: any Decoder) throws {
            let preset = decoder.userInfo[.architecturePreset] as? Configuration
            let fields = try ConfigurationFields(decoder, architecture: "vit", known: Self.fieldNames)
            func positive(_ name: String, _ preset: Int?) throws -> Int {
                try fields.value(name, expected: "a positive integer", default: preset) { $0 > 0 }
            }
            func probability(_ name: String, _ preset: Double?) throws -> Double {
                try fields.value(name, expected: "a probability between 0 and 1", default: preset ?? 0) { $0 >= 0 && $0 <= 1 }
            }
            self.init(imageSize: try positive("image_size", preset?.imageSize),
                      patchSize: try positive("patch_size", preset?.patchSize),
                      numLayers: try positive("num_layers", preset?.numLayers),
                      numHeads: try positive("num_heads", preset?.numHeads),
                      hiddenDim: try positive("hidden_dim", preset?.hiddenDim),
                      mlpDim: try positive("mlp_dim", preset?.mlpDim),
                      dropout: try probability("dropout", preset?.dropout),
                      attentionDropout: try probability("attention_dropout", preset?.attentionDropout),
                      numClasses: try positive("num_classes", preset?.numClasses ?? 1000),
                      representationSize: try fields.optionalValue("representation_size", expected: "a positive integer or null") { $0 > 0 }
                          ?? preset?.representationSize)
            try validate()
        }

        /// Combinations torchvision rejects.
        public func validate() throws {
            for (name, value) in [("image_size", imageSize), ("patch_size", patchSize), ("num_layers", numLayers),
                                  ("num_heads", numHeads), ("hidden_dim", hiddenDim), ("mlp_dim", mlpDim), ("num_classes", numClasses)]
            where value <= 0 {
                throw ModelError.invalidConfiguration(field: name, expected: "a positive integer")
            }
            guard hiddenDim % numHeads == 0 else {
                throw ModelError.invalidConfiguration(field: "hidden_dim", expected: "a multiple of num_heads (\(numHeads))")
            }
            guard patchSize <= imageSize else {
                throw ModelError.invalidConfiguration(field: "patch_size", expected: "at most image_size (\(imageSize))")
            }
        }

        /// Tokens per image: the patches plus the class token.
        public var sequenceLength: Int { (imageSize / patchSize) * (imageSize / patchSize) + 1 }

        public static let vit_b_16 = Configuration(imageSize: 224, patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072)
        public static let vit_b_32 = Configuration(imageSize: 224, patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072)
        public static let vit_l_16 = Configuration(imageSize: 224, patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096)
        public static let vit_l_32 = Configuration(imageSize: 224, patchSize: 32, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096)
        public static let vit_h_14 = Configuration(imageSize: 224, patchSize: 14, numLayers: 32, numHeads: 16, hiddenDim: 1280, mlpDim: 5120)

        /// The presets by torchvision's builder names.
        public static let presets: [String: Configuration] = [
            "vit_b_16": vit_b_16, "vit_b_32": vit_b_32, "vit_l_16": vit_l_16, "vit_l_32": vit_l_32, "vit_h_14": vit_h_14,
        ]
    }

    // MARK: - Modules

    public let configuration: Configuration
    public let convProj: Conv2d
    public let classToken: Parameter
    public let encoder: UnaryModule
    public let heads: Sequential

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let hidden = configuration.hiddenDim, patch = configuration.patchSize
        convProj = Conv2d(inChannels: 3, outChannels: hidden, kernelSize: IntPair(patch), stride: IntPair(patch))
        classToken = Parameter(Tensor(zeros: [1, 1, hidden]))
        encoder = Encoder(configuration)
        if let representation = configuration.representationSize {
            heads = Sequential(named: [("pre_logits", Linear(inFeatures: hidden, outFeatures: representation)), ("act", Tanh()),
                                       ("head", Linear(inFeatures: representation, outFeatures: configuration.numClasses))])
        } else {
            heads = Sequential(named: [("head", Linear(inFeatures: hidden, outFeatures: configuration.numClasses))])
        }
        super.init()
        initializeWeights()
    }

    /// torchvision's initialization: truncated-normal patch projection (σ = √(1/fan_in)) with zero
    /// bias, the same for `pre_logits`, and a zero head.
    private func initializeWeights() {
        let fanIn = 3 * configuration.patchSize * configuration.patchSize
        Initializers.truncatedNormal(convProj.weight, standardDeviation: (1 / Float(fanIn)).squareRoot())
        if let bias = convProj.bias { Initializers.zeros(bias) }
        if let preLogits = heads.layers.first as? Linear, heads.count == 3 {
            Initializers.truncatedNormal(preLogits.weight, standardDeviation: (1 / Float(preLogits.inFeatures)).squareRoot())
            if let bias = preLogits.bias { Initializers.zeros(bias) }
        }
        if let head = heads.layers.last as? Linear {
            Initializers.zeros(head.weight)
            if let bias = head.bias { Initializers.zeros(bias) }
        }
    }

    public override func forward(_ input: Tensor) throws -> Tensor {
        let size = configuration.imageSize
        guard input.rank == 4, input.shape[1] == 3, input.shape[2] == size, input.shape[3] == size else {
            throw ModelError.invalidInput(name: "input", reason: "expected an image batch [N, 3, \(size), \(size)], got shape \(input.shape)")
        }
        let batch = input.shape[0], hidden = configuration.hiddenDim
        // [N, hidden, n_h, n_w] → [N, n_h·n_w, hidden], then the class token in front.
        let patches = try convProj(input).reshaped([batch, hidden, -1]).permuted([0, 2, 1])
        let token = classToken.value.to(.float32).broadcast(to: [batch, 1, hidden])
        let sequence = try encoder(Tensor.concatenate([token, patches], axis: 1))
        return try heads(sequence.selecting(axis: 1, index: 0))
    }
}

// MARK: - Encoder

/// torchvision's `Encoder`: position embedding, dropout, the blocks, a final layer norm.
private final class Encoder: UnaryModule {
    let posEmbedding: Parameter
    let dropout: Dropout
    let layers: Sequential
    let ln: LayerNorm

    init(_ configuration: VisionTransformer.Configuration) {
        let hidden = configuration.hiddenDim
        posEmbedding = Parameter(Tensor(zeros: [1, configuration.sequenceLength, hidden]))
        dropout = Dropout(probability: configuration.dropout)
        layers = Sequential(named: (0..<configuration.numLayers).map { index in
            ("encoder_layer_\(index)", EncoderBlock(configuration))
        })
        ln = LayerNorm(hidden, epsilon: 1e-6)
        super.init()
        resetParameters()
    }

    override func resetParameters() { Initializers.normal(posEmbedding, standardDeviation: 0.02) }

    override func forward(_ input: Tensor) throws -> Tensor {
        var x = input
        x += posEmbedding.value.to(.float32)
        return try ln(layers(dropout(x)))
    }
}

/// torchvision's `EncoderBlock`: pre-norm self-attention and MLP, each with a residual.
private final class EncoderBlock: UnaryModule {
    let ln1: LayerNorm
    let selfAttention: MultiheadAttention
    let dropout: Dropout
    let ln2: LayerNorm
    let mlp: MLPBlock

    init(_ configuration: VisionTransformer.Configuration) {
        let hidden = configuration.hiddenDim
        ln1 = LayerNorm(hidden, epsilon: 1e-6)
        selfAttention = MultiheadAttention(embedDimension: hidden, headCount: configuration.numHeads,
                                           dropout: configuration.attentionDropout, batchFirst: true)
        dropout = Dropout(probability: configuration.dropout)
        ln2 = LayerNorm(hidden, epsilon: 1e-6)
        mlp = MLPBlock(inDimension: hidden, mlpDimension: configuration.mlpDim, dropout: configuration.dropout)
        super.init()
    }

    override var keyOverrides: [String: String] { ["ln1": "ln_1", "ln2": "ln_2"] }

    override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank == 3 else {
            throw ModelError.invalidInput(name: "input", reason: "EncoderBlock expects [N, L, hidden], got \(input.shape)")
        }
        let normalized = try ln1(input)
        var x = try dropout(selfAttention(query: normalized, key: normalized, value: normalized, needWeights: false).output)
        x += input
        var y = try mlp(ln2(x))
        y += x
        return y
    }
}

/// torchvision's `MLPBlock` (a `torchvision.ops.MLP`): Linear, GELU, Dropout, Linear, Dropout.
private final class MLPBlock: Sequential {
    init(inDimension: Int, mlpDimension: Int, dropout: Double) {
        let first = Linear(inFeatures: inDimension, outFeatures: mlpDimension)
        let second = Linear(inFeatures: mlpDimension, outFeatures: inDimension)
        super.init([first, GELU(), Dropout(probability: dropout), second, Dropout(probability: dropout)])
        // torchvision: Xavier-uniform weights, N(0, 1e-6²) biases.
        for linear in [first, second] {
            Initializers.xavierUniform(linear.weight)
            if let bias = linear.bias { Initializers.normal(bias, standardDeviation: 1e-6) }
        }
    }
}
