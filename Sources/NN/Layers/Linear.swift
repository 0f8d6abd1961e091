import Tensors

/// `y = x·Wᵀ + b` over the last axis (PyTorch's `nn.Linear`): weight [out, in], bias [out].
open class Linear: UnaryModule {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// The arithmetic of the inference path: float32, int8 (dynamic quantization: weights per
    /// output channel, activations per row at run time) or bfloat16 (bf16 weights and inputs, float32
    /// sums; only where `ComputePrecision.bfloat16.unavailableReason` is nil). Gradient recording
    /// always runs float32.
    public var precision: ComputePrecision = .float32 {
        didSet { precondition(precision.unavailableReason == nil, "Linear: \(precision): \(precision.unavailableReason ?? "")") }
    }
    /// The packed weight of the inference path (shared with replicas through `PackedWeightCache`).
    private var packedWeights: PackedWeights?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures >= 0 && outFeatures >= 0, "Linear: negative size \(inFeatures) → \(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = Parameter(Tensor(zeros: [outFeatures, inFeatures]))
        self.bias = bias ? Parameter(Tensor(zeros: [outFeatures])) : nil
        super.init()
        resetParameters()
    }

    /// Kaiming-uniform weight with a = √5 (bound 1/√in), bias U(−1/√in, 1/√in).
    open override func resetParameters() {
        Initializers.kaimingUniform(weight, a: Float(5).squareRoot())
        if let bias { Initializers.fanInUniform(bias, fanIn: inFeatures) }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank >= 1, input.shape.last == inFeatures else {
            throw invalidInput("expected the last dimension to be \(inFeatures) (in_features), got shape \(input.shape)")
        }
        let x = try floatInput(input)
        if !Tensor.shouldRecord(x, weight.value, bias?.value) {
            let packed = inferenceWeights()
            return packed.linear(x, bias: packed.bias)
        }
        return Tensor.linear(x, weight: weight.float32Value, bias: bias?.float32Value)
    }

    /// The weight packed once for inference (quantized too in int8, converted in bfloat16; the bias in float32), rebuilt
    /// only when the parameters or the precision change; replicas sharing the weight storage share it.
    public final func inferenceWeights() -> PackedWeights {
        var sources = [weight.value]
        if let bias { sources.append(bias.value) }
        let kind = PackedWeights.linearKind("linear", precision: precision)
        if let packedWeights, packedWeights.isBuilt(from: sources, kind: kind) { return packedWeights }
        let packed = PackedWeightCache.shared.weights(kind: kind, sources: sources) {
            .linear(weight: weight.float32Value.detached(), bias: bias?.float32Value.detached(), precision: precision)
        }
        packedWeights = packed
        return packed
    }

    /// Whether `activation(self(input))` may run as one packed GEMM with the activation in its
    /// epilogue (`inferenceWeights().linearGELU` / `linear(…, relu:)`): neither module hooked, a
    /// float32 input of this layer's width, nothing being recorded — the same values as the two
    /// modules run one after the other.
    public final func canFuseEpilogue(_ input: Tensor, then activation: Module) -> Bool {
        canSkipHooks && activation.canSkipHooks && input.dtype == .float32 && input.shape.last == inFeatures
            && !Tensor.shouldRecord(input, weight.value, bias?.value)
    }

    open override var extraDescription: String {
        "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(PythonLiteral.bool(bias != nil))"
    }
}
