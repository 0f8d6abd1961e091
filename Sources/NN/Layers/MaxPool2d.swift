import Tensors

/// Max pooling over [N, C, H, W] or [C, H, W] (PyTorch's `nn.MaxPool2d`); `stride` defaults to the kernel size.
open class MaxPool2d: UnaryModule {
    public let kernelSize: IntPair
    public let stride: IntPair
    public let padding: IntPair
    public let dilation: IntPair
    public let ceilMode: Bool

    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, dilation: IntPair = 1, ceilMode: Bool = false) {
        precondition(kernelSize.height > 0 && kernelSize.width > 0, "MaxPool2d: kernel size \(kernelSize) must be positive")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.dilation = dilation
        self.ceilMode = ceilMode
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        try requireRank(input, [3, 4], "a 4-D [N, C, H, W] or 3-D [C, H, W] input")
        guard padding.height * 2 <= kernelSize.height, padding.width * 2 <= kernelSize.width else {
            throw invalidInput("padding \(padding) should be at most half of the kernel size \(kernelSize)")
        }
        try requirePooledOutput(input, kernelSize: kernelSize, padding: padding, dilation: dilation)
        let batched = input.rank == 4 ? input : input.unsqueezed(axis: 0)
        let output = try floatInput(batched).maxPool2d(kernelSize: kernelSize.tuple, stride: stride.tuple, padding: padding.tuple,
                                                       dilation: dilation.tuple, ceilMode: ceilMode)
        return input.rank == 4 ? output : output.squeezed(axis: 0)
    }

    open override var extraDescription: String {
        "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding), dilation=\(dilation), ceil_mode=\(PythonLiteral.bool(ceilMode))"
    }
}

extension Module {
    /// Throws unless a pooling window fits in the (padded) input at least once.
    final func requirePooledOutput(_ input: Tensor, kernelSize: IntPair, padding: IntPair, dilation: IntPair) throws {
        let height = input.shape[input.rank - 2] + 2 * padding.height - dilation.height * (kernelSize.height - 1)
        let width = input.shape[input.rank - 1] + 2 * padding.width - dilation.width * (kernelSize.width - 1)
        guard height >= 1, width >= 1 else {
            throw invalidInput("input \(input.shape) is too small for kernel \(kernelSize) with padding \(padding)")
        }
    }
}
