import Tensors

/// max(x, 0) (PyTorch's `nn.ReLU`). With `inplace`, the result is written into the input's
/// storage when the input is not shared — copy-on-write means a tensor someone else holds (a
/// captured feature, the caller's variable) is never changed behind their back.
open class ReLU: UnaryModule {
    public let inplace: Bool

    public init(inplace: Bool = false) {
        self.inplace = inplace
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        var x = try floatInput(input)
        // An in-place write would bypass autograd; when recording, compute out of place.
        guard inplace, !Tensor.shouldRecord(x) else { return x.relu() }
        x.reluInPlace()
        return x
    }

    open override var extraDescription: String { inplace ? "inplace=True" : "" }
}
