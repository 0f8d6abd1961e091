import Tensors

/// Average pooling over [N, C, H, W] or [C, H, W] (PyTorch's `nn.AvgPool2d`); `stride` defaults to the kernel size.
open class AvgPool2d: UnaryModule {
    public let kernelSize: IntPair
    public let stride: IntPair
    public let padding: IntPair
    public let ceilMode: Bool
    public let countIncludePad: Bool

    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, ceilMode: Bool = false, countIncludePad: Bool = true) {
        precondition(kernelSize.height > 0 && kernelSize.width > 0, "AvgPool2d: kernel size \(kernelSize) must be positive")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        try requireRank(input, [3, 4], "a 4-D [N, C, H, W] or 3-D [C, H, W] input")
        guard padding.height * 2 <= kernelSize.height, padding.width * 2 <= kernelSize.width else {
            throw invalidInput("padding \(padding) should be at most half of the kernel size \(kernelSize)")
        }
        try requirePooledOutput(input, kernelSize: kernelSize, padding: padding, dilation: 1)
        let batched = input.rank == 4 ? input : input.unsqueezed(axis: 0)
        let output = try floatInput(batched).avgPool2d(kernelSize: kernelSize.tuple, stride: stride.tuple, padding: padding.tuple,
                                                       ceilMode: ceilMode, countIncludePad: countIncludePad)
        return input.rank == 4 ? output : output.squeezed(axis: 0)
    }

    open override var extraDescription: String { "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding)" }
}
