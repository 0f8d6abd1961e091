import Tensors

extension Module {
    /// Clears the accumulated gradient of every parameter in this tree (PyTorch's
    /// `zero_grad()`, which sets them to None).
    public final func zeroGrad() {
        for parameter in parameters() { parameter.zeroGrad() }
    }
}

extension Parameter {
    /// Clears the gradient accumulated by `backward()`.
    public func zeroGrad() { value.zeroGrad() }
}
