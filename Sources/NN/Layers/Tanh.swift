import Tensors

/// Hyperbolic tangent (PyTorch's `nn.Tanh`).
open class Tanh: UnaryModule {
    public override init() { super.init() }

    open override func forward(_ input: Tensor) throws -> Tensor { try floatInput(input).tanh() }
}
