/// The sizes of one 2-D convolution or pooling window, PyTorch's arguments in (height, width) pairs.
///
/// Shape letters: N batch, C input channels, H×W input size, O output channels, P×Q output size,
/// R×S kernel size, G groups.
public struct Conv2DGeometry: Sendable, Equatable {
    public var batch: Int
    public var inputChannels: Int
    public var inputHeight: Int, inputWidth: Int
    public var outputChannels: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var paddingHeight: Int, paddingWidth: Int
    public var dilationHeight: Int, dilationWidth: Int
    public var groups: Int

    public init(batch: Int, inputChannels: Int, inputHeight: Int, inputWidth: Int, outputChannels: Int,
                kernelSize: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.batch = batch
        self.inputChannels = inputChannels
        self.inputHeight = inputHeight; self.inputWidth = inputWidth
        self.outputChannels = outputChannels
        (kernelHeight, kernelWidth) = kernelSize
        (strideHeight, strideWidth) = stride
        (paddingHeight, paddingWidth) = padding
        (dilationHeight, dilationWidth) = dilation
        self.groups = groups
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0,
                     "conv2d: channels in \(inputChannels) and out \(outputChannels) must both divide by groups \(groups)")
        precondition(outputHeight > 0 && outputWidth > 0,
                     "conv2d: input \(inputHeight)×\(inputWidth) too small for kernel \(kernelHeight)×\(kernelWidth) (padding \(paddingHeight)×\(paddingWidth), dilation \(dilationHeight)×\(dilationWidth))")
    }

    public var outputHeight: Int { (inputHeight + 2 * paddingHeight - dilationHeight * (kernelHeight - 1) - 1) / strideHeight + 1 }
    public var outputWidth: Int { (inputWidth + 2 * paddingWidth - dilationWidth * (kernelWidth - 1) - 1) / strideWidth + 1 }
    public var inputChannelsPerGroup: Int { inputChannels / groups }
    public var outputChannelsPerGroup: Int { outputChannels / groups }

    /// Multiply-adds × 2.
    public var flops: Double {
        2 * Double(batch * outputChannels * outputHeight * outputWidth * inputChannelsPerGroup * kernelHeight * kernelWidth)
    }
}
