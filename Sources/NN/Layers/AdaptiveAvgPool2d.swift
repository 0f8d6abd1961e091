import Tensors

/// Average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d`), over [N, C, H, W] or [C, H, W].
open class AdaptiveAvgPool2d: UnaryModule {
    public let outputSize: IntPair

    public init(outputSize: IntPair) {
        precondition(outputSize.height > 0 && outputSize.width > 0, "AdaptiveAvgPool2d: output size \(outputSize) must be positive")
        self.outputSize = outputSize
        super.init()
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        try requireRank(input, [3, 4], "a 4-D [N, C, H, W] or 3-D [C, H, W] input")
        guard input.shape[input.rank - 2] > 0, input.shape[input.rank - 1] > 0 else {
            throw invalidInput("expected non-empty spatial dimensions, got shape \(input.shape)")
        }
        let batched = input.rank == 4 ? input : input.unsqueezed(axis: 0)
        let output = try floatInput(batched).adaptiveAvgPool2d(outputSize: outputSize.tuple)
        return input.rank == 4 ? output : output.squeezed(axis: 0)
    }

    open override var extraDescription: String { "output_size=\(outputSize)" }
}
