import Tensors

/// Returns its input unchanged (PyTorch's `nn.Identity`): the "none" choice for substitutable
/// norm and activation slots, and a placeholder that keeps a layer's name in the tree.
open class Identity: UnaryModule {
    public override init() { super.init() }

    open override func forward(_ input: Tensor) throws -> Tensor { input }
}
