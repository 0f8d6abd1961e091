import Tensors

/// Softmax along `axis` (PyTorch's `nn.Softmax(dim=...)`).
open class Softmax: UnaryModule {
    public let axis: Int

    public init(axis: Int) {
        self.axis = axis
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank > 0, axis >= -input.rank, axis < input.rank else {
            throw invalidInput("dimension \(axis) is out of range for shape \(input.shape)")
        }
        return try floatInput(input).softmax(axis: axis)
    }

    open override var extraDescription: String { "dim=\(axis)" }
}
