import Tensors

/// Gaussian error linear unit (PyTorch's `nn.GELU`): exact (erf) or the tanh approximation.
open class GELU: UnaryModule {
    public let approximation: GELUApproximation

    public init(approximation: GELUApproximation = .none) {
        self.approximation = approximation
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        try floatInput(input).gelu(approximation: approximation)
    }

    open override var extraDescription: String { "approximate=\(PythonLiteral.string(approximation.rawValue))" }
}
