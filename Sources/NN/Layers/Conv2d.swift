import Tensors

/// 2-D convolution over [N, C, H, W] (or unbatched [C, H, W]) (PyTorch's `nn.Conv2d`, zero padding):
/// weight [out, in/groups, kh, kw], bias [out].
open class Conv2d: UnaryModule {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: IntPair
    public let stride: IntPair
    public let padding: IntPair
    public let dilation: IntPair
    public let groups: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// The packed (possibly BatchNorm-folded) weight of the inference path, shared with replicas
    /// through `PackedWeightCache`.
    var packedWeights: PackedWeights?

    public init(inChannels: Int, outChannels: Int, kernelSize: IntPair, stride: IntPair = 1, padding: IntPair = 0,
                dilation: IntPair = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: in_channels \(inChannels) and out_channels \(outChannels) must be divisible by groups \(groups)")
        precondition(kernelSize.height > 0 && kernelSize.width > 0 && stride.height > 0 && stride.width > 0
                     && dilation.height > 0 && dilation.width > 0 && padding.height >= 0 && padding.width >= 0,
                     "Conv2d: invalid kernel \(kernelSize), stride \(stride), padding \(padding) or dilation \(dilation)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        // PyTorch stores these as pairs (`_pair`), and prints them as pairs.
        self.kernelSize = kernelSize.asPair
        self.stride = stride.asPair
        self.padding = padding.asPair
        self.dilation = dilation.asPair
        self.groups = groups
        self.weight = Parameter(Tensor(zeros: [outChannels, inChannels / groups, kernelSize.height, kernelSize.width]))
        self.bias = bias ? Parameter(Tensor(zeros: [outChannels])) : nil
        super.init()
        resetParameters()
    }

    /// Kaiming-uniform weight with a = √5, bias U(−1/√fan_in, 1/√fan_in), fan_in = in/groups·kh·kw.
    open override func resetParameters() {
        Initializers.kaimingUniform(weight, a: Float(5).squareRoot())
        if let bias { Initializers.fanInUniform(bias, fanIn: Initializers.fans(of: weight.value.shape).fanIn) }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        let batched = try batchedInput(input)
        let x = try floatInput(batched)
        let output: Tensor
        if !Tensor.shouldRecord(x, weight.value, bias?.value) {
            let packed = inferenceWeights(foldingBatchNorm: nil)
            output = Tensor.conv2d(x, packedWeight: packed.matrix, bias: packed.bias, stride: stride.tuple,
                                   padding: padding.tuple, dilation: dilation.tuple, groups: groups)
        } else {
            output = Tensor.conv2d(x, weight: weight.float32Value, bias: bias?.float32Value,
                                   stride: stride.tuple, padding: padding.tuple, dilation: dilation.tuple, groups: groups)
        }
        return input.rank == 4 ? output : output.squeezed(axis: 0)
    }

    /// `input` as a batch [N, C, H, W] (a 3-D [C, H, W] gets N = 1), checked for rank, channel
    /// count and room for the dilated kernel: what the plain and the fused forward both require.
    final func batchedInput(_ input: Tensor) throws -> Tensor {
        try requireRank(input, [3, 4], "a 4-D [N, C, H, W] or 3-D [C, H, W] input")
        let batched = input.rank == 4 ? input : input.unsqueezed(axis: 0)
        guard batched.shape[1] == inChannels else {
            throw invalidInput("expected \(inChannels) input channels, got shape \(input.shape)")
        }
        let height = batched.shape[2] + 2 * padding.height - dilation.height * (kernelSize.height - 1)
        let width = batched.shape[3] + 2 * padding.width - dilation.width * (kernelSize.width - 1)
        guard height >= 1, width >= 1 else {
            throw invalidInput("input \(input.shape) (padded \(padding)) is smaller than the kernel \(kernelSize) with dilation \(dilation)")
        }
        return batched
    }

    open override var extraDescription: String {
        var text = "\(inChannels), \(outChannels), kernel_size=\(kernelSize), stride=\(stride)"
        if padding != IntPair(0) { text += ", padding=\(padding)" }
        if dilation != IntPair(1) { text += ", dilation=\(dilation)" }
        if groups != 1 { text += ", groups=\(groups)" }
        if bias == nil { text += ", bias=False" }
        return text
    }
}
