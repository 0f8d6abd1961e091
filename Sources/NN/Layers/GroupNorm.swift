import Tensors

/// Group normalization over [N, C, ...] (PyTorch's `nn.GroupNorm`): statistics per sample and
/// group of C/groups channels, then a per-channel affine weight and bias.
open class GroupNorm: UnaryModule {
    public let groupCount: Int
    public let channelCount: Int
    public let epsilon: Double
    public let weight: Parameter?
    public let bias: Parameter?

    public init(groupCount: Int, channelCount: Int, epsilon: Double = 1e-5, affine: Bool = true, bias: Bool = true) {
        precondition(groupCount > 0 && channelCount % groupCount == 0,
                     "GroupNorm: num_channels \(channelCount) must be divisible by num_groups \(groupCount)")
        self.groupCount = groupCount
        self.channelCount = channelCount
        self.epsilon = epsilon
        self.weight = affine ? Parameter(Tensor(shape: [channelCount], repeating: 1)) : nil
        self.bias = affine && bias ? Parameter(Tensor(zeros: [channelCount])) : nil
        super.init()
        resetParameters()
    }

    /// Weight ones, bias zeros.
    open override func resetParameters() {
        if let weight { Initializers.ones(weight) }
        if let bias { Initializers.zeros(bias) }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank >= 2, input.shape[1] == channelCount else {
            throw invalidInput("expected [N, \(channelCount), ...], got shape \(input.shape)")
        }
        return Tensor.groupNorm(try floatInput(input), groups: groupCount, weight: weight?.float32Value,
                                bias: bias?.float32Value, epsilon: Float(epsilon))
    }

    open override var extraDescription: String {
        "\(groupCount), \(channelCount), eps=\(PythonLiteral.float(epsilon)), affine=\(PythonLiteral.bool(weight != nil)), bias=\(PythonLiteral.bool(bias != nil))"
    }
}
