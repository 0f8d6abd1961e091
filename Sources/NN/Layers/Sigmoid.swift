import Tensors

/// 1 / (1 + e^−x) (PyTorch's `nn.Sigmoid`).
open class Sigmoid: UnaryModule {
    public override init() { super.init() }

    open override func forward(_ input: Tensor) throws -> Tensor { try floatInput(input).sigmoid() }
}
