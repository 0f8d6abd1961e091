import NN
import Tensors

// Mirrors Hugging Face transformers' DINOv2 (models/dinov2/modeling_dinov2.py and
// models/dinov2_with_registers/modeling_dinov2_with_registers.py, transformers 5.25): `Dinov2Model`
// and `Dinov2WithRegistersModel` with their embeddings (CLS token, mask token, register tokens,
// position embeddings interpolated bicubically for other and non-square image sizes exactly as the
// original does), layers with layer scale, the GELU MLP or SwiGLU feed-forward, and the final
// LayerNorm. Keys and names are transformers 5's (`encoder.layer.N.attention.q_proj`, …);
// checkpoints in the hub's layout (`attention.attention.query`, `attention.output.dense`,
// `mlp.weights_in`/`weights_out`, a `dinov2.` prefix with a classifier head) load through
// `normalizeWeights`, as transformers' conversion mapping renames them.

/// DINOv2: input [N, 3, H, W] (H and W multiples of any size; the patch grid is ⌊H/p⌋ × ⌊W/p⌋), output
/// `last_hidden_state` [N, 1 + registers + patches, hidden] after the final LayerNorm.
public final class Dinov2Model: UnaryModule {
    // MARK: - Configuration

    /// The fields of a Hugging Face `Dinov2Config` / `Dinov2WithRegistersConfig` this model uses
    /// (others are ignored), with their defaults.
    public struct Configuration: Decodable, Sendable, Equatable {
        public var hiddenSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var mlpRatio: Double
        public var hiddenAct: String
        public var layerNormEps: Double
        public var imageSize: Int
        public var patchSize: Int
        public var numChannels: Int
        public var qkvBias: Bool
        public var layerscaleValue: Double
        public var dropPathRate: Double
        public var useSwigluFfn: Bool
        public var useMaskToken: Bool
        public var initializerRange: Double
        /// Register tokens (`Dinov2WithRegistersModel`); nil for plain DINOv2.
        public var numRegisterTokens: Int?

        public init(hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12, mlpRatio: Double = 4,
                    hiddenAct: String = "gelu", layerNormEps: Double = 1e-6, imageSize: Int = 224, patchSize: Int = 14,
                    numChannels: Int = 3, qkvBias: Bool = true, layerscaleValue: Double = 1, dropPathRate: Double = 0,
                    useSwigluFfn: Bool = false, useMaskToken: Bool = true, initializerRange: Double = 0.02, numRegisterTokens: Int? = nil) {
            self.hiddenSize = hiddenSize
            self.numHiddenLayers = numHiddenLayers
            self.numAttentionHeads = numAttentionHeads
            self.mlpRatio = mlpRatio
            self.hiddenAct = hiddenAct
            self.layerNormEps = layerNormEps
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.numChannels = numChannels
            self.qkvBias = qkvBias
            self.layerscaleValue = layerscaleValue
            self.dropPathRate = dropPathRate
            self.useSwigluFfn = useSwigluFfn
            self.useMaskToken = useMaskToken
            self.initializerRange = initializerRange
            self.numRegisterTokens = numRegisterTokens
        }

        public init(from decoder: any Decoder) throws {
            let fields = try ConfigurationFields(decoder, architecture: "dinov2")
            func positive(_ name: String, _ value: Int) throws -> Int {
                try fields.value(name, expected: "a positive integer", default: value) { $0 > 0 }
            }
            let modelType = fields.contains("model_type") ? try fields.choice("model_type", from: ["dinov2", "dinov2_with_registers"]) : "dinov2"
            let registers = modelType == "dinov2_with_registers" || fields.contains("num_register_tokens")
            self.init(hiddenSize: try positive("hidden_size", 768),
                      numHiddenLayers: try positive("num_hidden_layers", 12),
                      numAttentionHeads: try positive("num_attention_heads", 12),
                      mlpRatio: try fields.value("mlp_ratio", expected: "a positive number", default: 4) { $0 > 0 },
                      hiddenAct: try fields.choice("hidden_act", from: HiddenActivation.names, default: "gelu"),
                      layerNormEps: try fields.value("layer_norm_eps", expected: "a positive number", default: 1e-6) { $0 > 0 },
                      imageSize: try positive("image_size", 224),
                      patchSize: try positive("patch_size", registers ? 16 : 14),
                      numChannels: try positive("num_channels", 3),
                      qkvBias: try fields.value("qkv_bias", expected: "true or false", default: true),
                      layerscaleValue: try fields.value("layerscale_value", expected: "a number", default: 1) { $0.isFinite },
                      dropPathRate: try fields.value("drop_path_rate", expected: "a probability between 0 and 1", default: 0) { $0 >= 0 && $0 <= 1 },
                      useSwigluFfn: try fields.value("use_swiglu_ffn", expected: "true or false", default: false),
                      useMaskToken: registers ? true : try fields.value("use_mask_token", expected: "true or false", default: true),
                      initializerRange: try fields.value("initializer_range", expected: "a positive number", default: 0.02) { $0 > 0 },
                      numRegisterTokens: registers ? try fields.value("num_register_tokens", expected: "a non-negative integer", default: 4) { $0 >= 0 } : nil)
            try validate()
        }

        /// Combinations the original rejects or cannot build.
        public func validate() throws {
            guard hiddenSize % numAttentionHeads == 0 else {
                throw ModelError.invalidConfiguration(field: "hidden_size", expected: "a multiple of num_attention_heads (\(numAttentionHeads))")
            }
            guard imageSize >= patchSize else {
                throw ModelError.invalidConfiguration(field: "image_size", expected: "at least patch_size (\(patchSize))")
            }
            guard HiddenActivation.names.contains(hiddenAct) else {
                throw ModelError.invalidConfiguration(field: "hidden_act", expected: "one of " + HiddenActivation.names.joined(separator: ", "))
            }
        }

        /// Patches per side at the configured image size (the position-embedding grid).
        var gridSize: Int { imageSize / patchSize }
        /// Transformers' class-name prefix: `Dinov2` or `Dinov2WithRegisters`.
        var typePrefix: String { numRegisterTokens == nil ? "Dinov2" : "Dinov2WithRegisters" }
    }

    // MARK: - Modules

    public let configuration: Configuration
    let embeddings: Dinov2Embeddings
    let encoder: Dinov2Encoder
    let layernorm: LayerNorm

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        embeddings = Dinov2Embeddings(configuration)
        encoder = Dinov2Encoder(configuration)
        layernorm = LayerNorm(configuration.hiddenSize, epsilon: configuration.layerNormEps)
        super.init()
        initializeWeights()
    }

    public override var typeName: String { configuration.typePrefix + "Model" }

    /// Transformers' `_init_weights`: truncated-normal (std `initializer_range`) linear and convolution
    /// weights, CLS token and position embeddings; zero biases, mask and register tokens; layer scales
    /// at `layerscale_value`; unit LayerNorms.
    private func initializeWeights() {
        let deviation = Float(configuration.initializerRange)
        for module in modules() {
            if let linear = module as? Linear {
                Initializers.truncatedNormal(linear.weight, standardDeviation: deviation)
                if let bias = linear.bias { Initializers.zeros(bias) }
            } else if let conv = module as? Conv2d {
                Initializers.truncatedNormal(conv.weight, standardDeviation: deviation)
                if let bias = conv.bias { Initializers.zeros(bias) }
            }
        }
        Initializers.truncatedNormal(embeddings.positionEmbeddings, standardDeviation: deviation)
        Initializers.truncatedNormal(embeddings.clsToken, standardDeviation: deviation)
    }

    public override func forward(_ input: Tensor) throws -> Tensor {
        let patch = configuration.patchSize
        guard input.rank == 4, input.shape[1] == configuration.numChannels, input.shape[2] >= patch, input.shape[3] >= patch else {
            throw ModelError.invalidInput(name: "input", reason: "expected an image batch [N, \(configuration.numChannels), H, W] with H, W ≥ \(patch), got shape \(input.shape)")
        }
        return try layernorm(encoder(embeddings(input.to(.float32))))
    }

    // MARK: - Weights

    /// Dinov2Model keys from a checkpoint in transformers 5's layout, the hub's older layout, or a
    /// `Dinov2ForImageClassification` checkpoint (`dinov2.` / `dinov2_with_registers.` prefix; the
    /// classifier set aside).
    static func normalizeWeights(_ state: StateDict) -> (weights: StateDict, ignored: [String]) {
        let prefix = ["dinov2.", "dinov2_with_registers."].first { prefix in state.keys.contains { $0.hasPrefix(prefix) } }
        let renames = [("attention.attention.query.", "attention.q_proj."), ("attention.attention.key.", "attention.k_proj."),
                       ("attention.attention.value.", "attention.v_proj."), ("attention.output.dense.", "attention.o_proj."),
                       ("mlp.weights_out.", "mlp.down_proj.")]
        var weights = StateDict(), ignored: [String] = []
        for (key, tensor) in state {
            var name = key
            if let prefix {
                guard key.hasPrefix(prefix) else { ignored.append(key); continue }
                name = String(key.dropFirst(prefix.count))
            }
            for (old, new) in renames where name.contains(old) { name = name.replacingOccurrences(of: old, with: new) }
            // The fused SwiGLU input projection: gate rows, then up rows.
            if name.contains("mlp.weights_in."), tensor.rank >= 1, tensor.shape[0] % 2 == 0 {
                let halves = tensor.split(size: tensor.shape[0] / 2, axis: 0)
                weights[name.replacingOccurrences(of: "mlp.weights_in.", with: "mlp.gate_proj.")] = halves[0]
                weights[name.replacingOccurrences(of: "mlp.weights_in.", with: "mlp.up_proj.")] = halves[1]
                continue
            }
            weights[name] = tensor
        }
        return (weights, ignored)
    }
}

// MARK: - Embeddings

/// CLS token, mask token, (register tokens,) patch embeddings and position embeddings.
final class Dinov2Embeddings: UnaryModule {
    let clsToken: Parameter
    let maskToken: Parameter?
    let patchEmbeddings: Dinov2PatchEmbeddings
    let positionEmbeddings: Parameter
    let dropout = Dropout(probability: 0)
    let registerTokens: Parameter?
    let configuration: Dinov2Model.Configuration

    init(_ configuration: Dinov2Model.Configuration) {
        let hidden = configuration.hiddenSize
        self.configuration = configuration
        clsToken = Parameter(Tensor(zeros: [1, 1, hidden]))
        maskToken = configuration.useMaskToken ? Parameter(Tensor(zeros: [1, hidden])) : nil
        patchEmbeddings = Dinov2PatchEmbeddings(configuration)
        positionEmbeddings = Parameter(Tensor(zeros: [1, configuration.gridSize * configuration.gridSize + 1, hidden]))
        registerTokens = configuration.numRegisterTokens.map { Parameter(Tensor(zeros: [1, $0, hidden])) }
        super.init()
    }

    override var typeName: String { configuration.typePrefix + "Embeddings" }

    override func forward(_ input: Tensor) throws -> Tensor {
        let (height, width) = (input.shape[2], input.shape[3])
        let patches = try patchEmbeddings(input)
        let batch = patches.shape[0], hidden = configuration.hiddenSize
        var embedded = Tensor.concatenate([clsToken.value.to(.float32).broadcast(to: [batch, 1, hidden]), patches], axis: 1)
        embedded += positions(patchCount: patches.shape[1], height: height, width: width)
        if let registerTokens {
            let tokens = registerTokens.value.to(.float32)
            embedded = Tensor.concatenate([embedded.sliced(axis: 1, 0..<1), tokens.broadcast(to: [batch, tokens.shape[1], hidden]),
                                           embedded.sliced(axis: 1, 1..<embedded.shape[1])], axis: 1)
        }
        return try dropout(embedded)
    }

    /// The position embeddings for `patchCount` patches of an H × W image: as trained when the grid
    /// and a square image match, else the patch grid resized bicubically to ⌊H/p⌋ × ⌊W/p⌋ (with
    /// antialiasing in the registers model, as its original does).
    private func positions(patchCount: Int, height: Int, width: Int) -> Tensor {
        let table = positionEmbeddings.value.to(.float32)
        let trained = table.shape[1] - 1
        if patchCount == trained && height == width { return table }
        let hidden = table.shape[2]
        let side = Int(Double(trained).squareRoot())
        let grid = table.sliced(axis: 1, 1..<table.shape[1]).reshaped([1, side, side, hidden]).permuted([0, 3, 1, 2])
        let resized = grid.interpolatedBicubic(height: height / configuration.patchSize, width: width / configuration.patchSize,
                                               antialias: configuration.numRegisterTokens != nil)
        let patches = resized.permuted([0, 2, 3, 1]).reshaped([1, -1, hidden])
        return Tensor.concatenate([table.sliced(axis: 1, 0..<1), patches], axis: 1)
    }
}

/// The patch projection: a p × p convolution with stride p, flattened to [N, patches, hidden].
final class Dinov2PatchEmbeddings: UnaryModule {
    let projection: Conv2d
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        projection = Conv2d(inChannels: configuration.numChannels, outChannels: configuration.hiddenSize,
                            kernelSize: IntPair(configuration.patchSize), stride: IntPair(configuration.patchSize))
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "PatchEmbeddings" }

    override func forward(_ input: Tensor) throws -> Tensor {
        try projection(input).flattened(startAxis: 2).transposed(1, 2)
    }
}

// MARK: - Encoder

/// The layers in order (`encoder.layer.N`).
final class Dinov2Encoder: UnaryModule {
    let layer: ModuleList<Dinov2Layer>
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        layer = ModuleList((0..<configuration.numHiddenLayers).map { _ in Dinov2Layer(configuration) })
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "Encoder" }

    override func forward(_ input: Tensor) throws -> Tensor {
        var hidden = input
        for block in layer { hidden = try block(hidden) }
        return hidden
    }
}

/// norm1 → attention → layer scale (+ residual), norm2 → MLP → layer scale (+ residual).
final class Dinov2Layer: UnaryModule {
    let norm1: LayerNorm
    let attention: Dinov2Attention
    let layerScale1: Dinov2LayerScale
    let dropPath: UnaryModule
    let norm2: LayerNorm
    let mlp: UnaryModule
    let layerScale2: Dinov2LayerScale
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        let hidden = configuration.hiddenSize
        norm1 = LayerNorm(hidden, epsilon: configuration.layerNormEps)
        attention = Dinov2Attention(configuration)
        layerScale1 = Dinov2LayerScale(configuration)
        dropPath = configuration.dropPathRate > 0 ? Dinov2DropPath(probability: configuration.dropPathRate, typePrefix: configuration.typePrefix)
                                                  : Identity()
        norm2 = LayerNorm(hidden, epsilon: configuration.layerNormEps)
        mlp = configuration.useSwigluFfn ? Dinov2SwiGLUFFN(configuration) : Dinov2MLP(configuration)
        layerScale2 = Dinov2LayerScale(configuration)
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "Layer" }

    override func forward(_ input: Tensor) throws -> Tensor {
        var hidden = try dropPath(layerScale1(attention(norm1(input))))
        hidden += input
        var output = try dropPath(layerScale2(mlp(norm2(hidden))))
        output += hidden
        return output
    }
}

/// Query, key and value projections, scaled dot-product attention over heads, output projection.
/// Reports its attention probabilities to attention hooks (`AttentionReporting`).
final class Dinov2Attention: UnaryModule, AttentionReporting {
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let oProj: Linear
    let headCount: Int
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        let hidden = configuration.hiddenSize
        qProj = Linear(inFeatures: hidden, outFeatures: hidden, bias: configuration.qkvBias)
        kProj = Linear(inFeatures: hidden, outFeatures: hidden, bias: configuration.qkvBias)
        vProj = Linear(inFeatures: hidden, outFeatures: hidden, bias: configuration.qkvBias)
        oProj = Linear(inFeatures: hidden, outFeatures: hidden)
        headCount = configuration.numAttentionHeads
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "Attention" }

    override func forward(_ input: Tensor) throws -> Tensor {
        let context = try multiHeadAttention(query: qProj(input), key: kProj(input), value: vProj(input), headCount: headCount)
        return try oProj(context)
    }
}

/// A learned per-channel scale (`lambda1`).
final class Dinov2LayerScale: UnaryModule {
    let lambda1: Parameter
    let initialValue: Float
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        initialValue = Float(configuration.layerscaleValue)
        lambda1 = Parameter(Tensor(shape: [configuration.hiddenSize], repeating: initialValue))
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "LayerScale" }

    override func resetParameters() { Initializers.constant(lambda1, initialValue) }

    override func forward(_ input: Tensor) throws -> Tensor { input.to(.float32) * lambda1.value.to(.float32) }
}

/// fc1 → activation → fc2, hidden width `mlp_ratio` × hidden size.
final class Dinov2MLP: UnaryModule {
    // Declared in transformers' order (the activation first), which the printed tree follows.
    let activationFn: UnaryModule
    let fc1: Linear
    let fc2: Linear
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        let hidden = configuration.hiddenSize, inner = Int(Double(hidden) * configuration.mlpRatio)
        fc1 = Linear(inFeatures: hidden, outFeatures: inner)
        activationFn = HiddenActivation.make(configuration.hiddenAct)
        fc2 = Linear(inFeatures: inner, outFeatures: hidden)
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "MLP" }

    override func forward(_ input: Tensor) throws -> Tensor { try fc2(activationFn(fc1(input))) }
}

/// SwiGLU feed-forward: down(silu(gate(x)) · up(x)), inner width rounded as the original does.
final class Dinov2SwiGLUFFN: UnaryModule {
    let gateProj: Linear
    let upProj: Linear
    let downProj: Linear
    let actFn = HiddenActivation.make("silu")
    let typePrefix: String

    init(_ configuration: Dinov2Model.Configuration) {
        let hidden = configuration.hiddenSize
        let inner = (Int(Double(Int(Double(hidden) * configuration.mlpRatio)) * 2 / 3) + 7) / 8 * 8
        gateProj = Linear(inFeatures: hidden, outFeatures: inner)
        upProj = Linear(inFeatures: hidden, outFeatures: inner)
        downProj = Linear(inFeatures: inner, outFeatures: hidden)
        typePrefix = configuration.typePrefix
        super.init()
    }

    override var typeName: String { typePrefix + "SwiGLUFFN" }

    override func forward(_ input: Tensor) throws -> Tensor {
        var gated = try actFn(gateProj(input))
        gated *= try upProj(input)
        return try downProj(gated)
    }
}

/// Stochastic depth on the residual branch (identity in evaluation), printed as the original.
final class Dinov2DropPath: StochasticDepth {
    let typePrefix: String

    init(probability: Double, typePrefix: String) {
        self.typePrefix = typePrefix
        super.init(probability: probability, mode: .row)
    }

    override var typeName: String { typePrefix + "DropPath" }
    override var extraDescription: String { "p=\(PythonLiteral.float(probability))" }
}
