import Tensors

/// A module with one tensor in and one tensor out — most layers. Subclasses override
/// `forward(_:)`; callers use `try module(x)`, which runs the hooks (and costs nothing extra
/// when there are none).
open class UnaryModule: Module {
    /// The computation. Call the module (`try module(x)`), not this, so hooks run.
    open func forward(_ input: Tensor) throws -> Tensor {
        preconditionFailure("\(typeName) must override forward(_:)")
    }

    /// Calls `forward` through the hook machinery; without hooks it is a direct call.
    public final func callAsFunction(_ input: Tensor) throws -> Tensor {
        if canSkipHooks { return try forward(input) }
        return try callWithHooks(inputs: [input]) { try self.forward($0[0]) }
    }
}
