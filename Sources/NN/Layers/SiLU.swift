import Tensors

/// x·σ(x) (PyTorch's `nn.SiLU`, also called swish).
open class SiLU: UnaryModule {
    public override init() { super.init() }

    open override func forward(_ input: Tensor) throws -> Tensor { try floatInput(input).silu() }
}
