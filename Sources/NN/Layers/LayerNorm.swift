import Tensors

/// Normalization over the trailing `normalizedShape` dimensions (PyTorch's `nn.LayerNorm`),
/// with an elementwise affine weight (and bias) of that shape.
open class LayerNorm: UnaryModule {
    public let normalizedShape: [Int]
    public let epsilon: Double
    public let weight: Parameter?
    public let bias: Parameter?

    public init(normalizedShape: [Int], epsilon: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 }, "LayerNorm: invalid normalized shape \(normalizedShape)")
        self.normalizedShape = normalizedShape
        self.epsilon = epsilon
        self.weight = elementwiseAffine ? Parameter(Tensor(shape: normalizedShape, repeating: 1)) : nil
        self.bias = elementwiseAffine && bias ? Parameter(Tensor(zeros: normalizedShape)) : nil
        super.init()
        resetParameters()
    }

    /// Normalization over the last dimension of size `featureCount`.
    public convenience init(_ featureCount: Int, epsilon: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.init(normalizedShape: [featureCount], epsilon: epsilon, elementwiseAffine: elementwiseAffine, bias: bias)
    }

    /// Weight ones, bias zeros.
    open override func resetParameters() {
        if let weight { Initializers.ones(weight) }
        if let bias { Initializers.zeros(bias) }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank >= normalizedShape.count, Array(input.shape.suffix(normalizedShape.count)) == normalizedShape else {
            throw invalidInput("expected an input ending with dimensions \(normalizedShape), got shape \(input.shape)")
        }
        return Tensor.layerNorm(try floatInput(input), normalizedShape: normalizedShape, weight: weight?.float32Value,
                                bias: bias?.float32Value, epsilon: Float(epsilon))
    }

    open override var extraDescription: String {
        "\(PythonLiteral.tuple(normalizedShape)), eps=\(PythonLiteral.float(epsilon)), elementwise_affine=\(PythonLiteral.bool(weight != nil)), bias=\(PythonLiteral.bool(bias != nil))"
    }
}
