import Tensors
import Testing

// Every differentiable op's backward against central finite differences (see
// GradientCheckSupport.swift): relative error ≤ 1e-3 in float32, per input, one parameterized
// test per family of ops.

// MARK: - Cases

private let elementwiseCases: [GradientCase] = [
    GradientCase("add same shape", [.input([2, 3]), .input([2, 3])]) { $0[0] + $0[1] },
    GradientCase("add broadcast [2,3,4] + [3,1]", [.input([2, 3, 4]), .input([3, 1])]) { $0[0] + $0[1] },
    GradientCase("sub broadcast [4] - [2,3,4]", [.input([4]), .input([2, 3, 4])]) { $0[0] - $0[1] },
    GradientCase("mul broadcast [2,1,4] * [3,1]", [.input([2, 1, 4]), .input([3, 1])]) { $0[0] * $0[1] },
    GradientCase("div broadcast [2,3] / [3]", [.input([2, 3]), .input([3], .range(0.5, 2))]) { $0[0] / $0[1] },
    GradientCase("div scalar tensor", [.input([2, 3]), .input([], .range(0.5, 2))]) { $0[0] / $0[1] },
    GradientCase("neg", [.input([5])]) { -$0[0] },
    GradientCase("in-place forms while recording (+=, -=, *=, relu_, add_relu_)",
                 [.input([2, 3], .awayFromZero(1)), .input([3], .range(0.5, 1)), .input([2, 3], .uniform(0.1))]) {
        var y = $0[0] * 1
        y += $0[1]
        y -= $0[2]
        y *= $0[1]
        y *= 2
        y += 0.5
        var z = y
        z.reluInPlace()
        z.addReLUInPlace(y)
        return z
    },
    GradientCase("scalar add, sub, mul, div, rsub", [.input([2, 3])]) { ((($0[0] + 2) * 3 - 1) / 4) + (1 - $0[0]) },
]

private let activationCases: [GradientCase] = [
    GradientCase("relu", [.input([3, 4], .awayFromZero(2))]) { $0[0].relu() },
    GradientCase("gelu erf", [.input([3, 4], .uniform(3))]) { $0[0].gelu() },
    GradientCase("gelu tanh", [.input([3, 4], .uniform(3))]) { $0[0].gelu(approximation: .tanh) },
    GradientCase("gelu erf adding bias", [.input([2, 3, 4], .uniform(2)), .input([4])]) { $0[0].gelu(addingBias: $0[1]) },
    GradientCase("gelu tanh adding bias", [.input([3, 4], .uniform(2)), .input([4])]) {
        $0[0].gelu(addingBias: $0[1], approximation: .tanh)
    },
    GradientCase("silu", [.input([3, 4], .uniform(3))]) { $0[0].silu() },
    GradientCase("sigmoid", [.input([3, 4], .uniform(3))]) { $0[0].sigmoid() },
    GradientCase("tanh", [.input([3, 4], .uniform(2))]) { $0[0].tanh() },
    GradientCase("exp", [.input([3, 4], .uniform(1))]) { $0[0].exp() },
    GradientCase("sqrt", [.input([3, 4], .range(0.3, 2))]) { $0[0].sqrt() },
]

private let shapeCases: [GradientCase] = [
    GradientCase("reshape with -1", [.input([2, 6])]) { $0[0].reshaped([3, -1, 2]) * $0[0].reshaped([3, -1, 2]) },
    GradientCase("permute", [.input([2, 3, 4])]) { $0[0].permuted([2, 0, 1]) },
    GradientCase("transpose", [.input([2, 3, 4])]) { $0[0].transposed(0, 2) },
    GradientCase("slice leading axis (view)", [.input([5, 3])]) { $0[0].sliced(axis: 0, 1..<4) },
    GradientCase("slice inner axis", [.input([2, 5, 3])]) { $0[0].sliced(axis: 1, 2..<5) },
    GradientCase("select", [.input([2, 3, 4])]) { $0[0].selecting(axis: 1, index: 2) },
    GradientCase("concatenate", [.input([2, 1, 3]), .input([2, 2, 3]), .input([2, 3, 3])]) {
        Tensor.concatenate([$0[0], $0[1], $0[2]], axis: 1)
    },
    GradientCase("split and recombine", [.input([4, 6])]) {
        let parts = $0[0].split(sizes: [1, 2, 3], axis: 1)
        return parts[0] * parts[1].sum(axes: [1], keepingDimensions: true) + parts[2].sum(axes: [1], keepingDimensions: true)
    },
    GradientCase("split by size", [.input([5, 2])]) {
        let parts = $0[0].split(size: 2, axis: 0)
        return Tensor.concatenate([parts[2] * 3, parts[0], parts[1] * parts[1]], axis: 0)
    },
    GradientCase("flatten", [.input([2, 3, 2, 2])]) { $0[0].flattened(startAxis: 1, endAxis: 2) },
    GradientCase("unsqueeze and squeeze", [.input([3, 2])]) { $0[0].unsqueezed(axis: 1).squeezed(axis: 1).unsqueezed(axis: -1) },
    GradientCase("broadcast to", [.input([3, 1])]) { $0[0].broadcast(to: [2, 3, 4]) },
    GradientCase("view", [.input([4, 3])]) { $0[0].view(elementOffset: 2, shape: [2, 4]) },
]

private let reductionCases: [GradientCase] = [
    GradientCase("sum all", [.input([2, 3, 4])]) { $0[0].sum() },
    GradientCase("sum adjacent axes", [.input([2, 3, 4])]) { $0[0].sum(axes: [1, 2]) },
    GradientCase("sum split axes keeping dimensions", [.input([2, 3, 4])]) { $0[0].sum(axes: [0, 2], keepingDimensions: true) },
    GradientCase("mean", [.input([2, 3, 4])]) { $0[0].mean(axes: [-1]) },
    GradientCase("mean all", [.input([3, 4])]) { $0[0].mean() },
    GradientCase("max", [.input([3, 5, 2], .separated(gap: 0.05))]) { $0[0].max(axes: [1]) },
    GradientCase("max over split axes", [.input([3, 2, 4], .separated(gap: 0.05))]) { $0[0].max(axes: [0, 2], keepingDimensions: true) },
    GradientCase("l2 normalize last axis", [.input([3, 5])]) { $0[0].l2Normalized() },
    GradientCase("l2 normalize axis 1", [.input([2, 4, 3])]) { $0[0].l2Normalized(axis: 1) },
    GradientCase("vector norm", [.input([3, 5])]) { $0[0].vectorNorm(axes: [1]) },
    GradientCase("vector norm over split axes", [.input([2, 3, 4])]) { $0[0].vectorNorm(axes: [0, 2], keepingDimensions: true) },
]

private let matmulCases: [GradientCase] = [
    GradientCase("matmul", [.input([3, 4]), .input([4, 5])]) { Tensor.matmul($0[0], $0[1]) },
    GradientCase("matmul Aᵀ", [.input([4, 3]), .input([4, 5])]) { Tensor.matmul($0[0], $0[1], transposeA: true) },
    GradientCase("matmul Bᵀ", [.input([3, 4]), .input([5, 4])]) { Tensor.matmul($0[0], $0[1], transposeB: true) },
    GradientCase("matmul Aᵀ Bᵀ", [.input([4, 3]), .input([5, 4])]) {
        Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true)
    },
    GradientCase("batched matmul", [.input([2, 3, 4]), .input([2, 4, 2])]) { Tensor.matmul($0[0], $0[1]) },
    GradientCase("broadcast matmul [3,4]·[2,4,5]", [.input([3, 4]), .input([2, 4, 5])]) { Tensor.matmul($0[0], $0[1]) },
    GradientCase("broadcast batched matmul [2,1,3,4]·[3,4,2] Bᵀ", [.input([2, 1, 3, 4]), .input([3, 2, 4])]) {
        Tensor.matmul($0[0], $0[1], transposeB: true)
    },
    GradientCase("linear with bias", [.input([2, 3, 4]), .input([5, 4]), .input([5])]) {
        Tensor.linear($0[0], weight: $0[1], bias: $0[2])
    },
    GradientCase("linear without bias", [.input([3, 4]), .input([2, 4])]) { Tensor.linear($0[0], weight: $0[1], bias: nil) },
    GradientCase("linear packed weight", [.input([2, 3, 4]), .constant([5, 4], .uniform(1)), .input([5])]) {
        Tensor.linear($0[0], packedWeight: PackedMatrix($0[1]), bias: $0[2])
    },
    GradientCase("linear packed weight with ReLU", [.input([3, 4]), .constant([6, 4], .uniform(0.2)),
                                                    .input([6], .values([2, -2, 2, -2, 2, -2]))]) {
        Tensor.linear($0[0], packedWeight: PackedMatrix($0[1]), bias: $0[2], relu: true)
    },
]

/// A conv2d case: input [N, C, H, W], weight [O, C/G, R, S], optional bias.
private func convolution(_ name: String, input: [Int], outputChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                         padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true) -> GradientCase {
    var inputs: [CheckedInput] = [.input(input), .input([outputChannels, input[1] / groups, kernel.0, kernel.1], .uniform(0.5))]
    if bias { inputs.append(.input([outputChannels])) }
    return GradientCase("conv2d " + name, inputs) {
        Tensor.conv2d($0[0], weight: $0[1], bias: bias ? $0[2] : nil, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

private let convolutionCases: [GradientCase] = [
    convolution("3×3", input: [2, 3, 5, 6], outputChannels: 4, kernel: (3, 3)),
    convolution("3×3 padding 1", input: [1, 2, 5, 5], outputChannels: 3, kernel: (3, 3), padding: (1, 1)),
    convolution("3×3 stride 2 padding 1 no bias", input: [2, 2, 7, 6], outputChannels: 3, kernel: (3, 3), stride: (2, 2),
                padding: (1, 1), bias: false),
    convolution("7×7 stride 2 padding 3 (stem)", input: [1, 3, 9, 9], outputChannels: 2, kernel: (7, 7), stride: (2, 2), padding: (3, 3)),
    convolution("2×3 stride (2,1) padding (1,2) dilation (2,1)", input: [1, 2, 7, 6], outputChannels: 2, kernel: (2, 3),
                stride: (2, 1), padding: (1, 2), dilation: (2, 1)),
    convolution("dilation 2", input: [1, 2, 7, 7], outputChannels: 2, kernel: (3, 3), padding: (2, 2), dilation: (2, 2)),
    convolution("groups 2", input: [2, 4, 5, 5], outputChannels: 6, kernel: (3, 3), padding: (1, 1), groups: 2),
    convolution("depthwise", input: [2, 3, 6, 5], outputChannels: 3, kernel: (3, 3), stride: (2, 1), padding: (1, 1), groups: 3),
    convolution("depthwise multiplier 2", input: [1, 2, 5, 5], outputChannels: 4, kernel: (3, 3), padding: (1, 1), groups: 2),
    convolution("1×1", input: [2, 4, 3, 3], outputChannels: 5, kernel: (1, 1)),
    convolution("1×1 stride 2 (downsample)", input: [2, 3, 5, 5], outputChannels: 4, kernel: (1, 1), stride: (2, 2), bias: false),
    convolution("patchify 4×4 stride 4", input: [1, 3, 8, 8], outputChannels: 5, kernel: (4, 4), stride: (4, 4)),
    GradientCase("conv2d packed weight with ReLU", [.input([2, 2, 5, 5]), .constant([4, 2, 3, 3], .uniform(0.1)),
                                                    .input([4], .values([3, -3, 3, -3]))]) {
        Tensor.conv2d($0[0], packedWeight: PackedMatrix(convolutionWeight: $0[1]), bias: $0[2], padding: (1, 1), relu: true)
    },
    GradientCase("conv2d packed weight stride 2", [.input([1, 3, 6, 6]), .constant([2, 3, 3, 3], .uniform(0.5))]) {
        Tensor.conv2d($0[0], packedWeight: PackedMatrix(convolutionWeight: $0[1]), bias: nil, stride: (2, 2), padding: (1, 1))
    },
]

private let poolingCases: [GradientCase] = [
    GradientCase("max pool 3×3 stride 2 padding 1", [.input([2, 2, 7, 6], .separated(gap: 0.03))]) {
        $0[0].maxPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
    },
    GradientCase("max pool ceil mode dilation 2", [.input([1, 2, 8, 7], .separated(gap: 0.03))]) {
        $0[0].maxPool2d(kernelSize: (2, 3), stride: (2, 2), padding: (1, 1), dilation: (2, 2), ceilMode: true)
    },
    GradientCase("avg pool 3×3 stride 2 padding 1", [.input([2, 2, 7, 6])]) {
        $0[0].avgPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
    },
    GradientCase("avg pool ceil mode without padding in count", [.input([1, 2, 7, 7])]) {
        $0[0].avgPool2d(kernelSize: (3, 2), stride: (2, 2), padding: (1, 1), ceilMode: true, countIncludePad: false)
    },
    GradientCase("adaptive avg pool to 1×1", [.input([2, 3, 4, 5])]) { $0[0].adaptiveAvgPool2d(outputSize: (1, 1)) },
    GradientCase("adaptive avg pool 5×7 → 3×2", [.input([1, 2, 5, 7])]) { $0[0].adaptiveAvgPool2d(outputSize: (3, 2)) },
    GradientCase("bilinear upsample 3×4 → 7×9", [.input([2, 2, 3, 4])]) { $0[0].interpolateBilinear(size: (7, 9)) },
    GradientCase("bilinear upsample align corners", [.input([1, 2, 3, 4])]) { $0[0].interpolateBilinear(size: (5, 8), alignCorners: true) },
    GradientCase("bilinear downsample 8×7 → 3×5", [.input([1, 2, 8, 7])]) { $0[0].interpolateBilinear(size: (3, 5)) },
    GradientCase("bilinear downsample align corners", [.input([1, 1, 6, 6])]) { $0[0].interpolateBilinear(size: (4, 1), alignCorners: true) },
]

private let normalizationCases: [GradientCase] = [
    GradientCase("batch norm inference", [.input([2, 3, 2, 3]), .input([3]), .input([3], .range(0.5, 1.5)), .input([3]), .input([3])]) {
        Tensor.batchNorm($0[0], runningMean: $0[1], runningVariance: $0[2], weight: $0[3], bias: $0[4], epsilon: 1e-5)
    },
    GradientCase("batch norm inference without affine", [.input([2, 3, 4]), .input([3]), .input([3], .range(0.5, 1.5))]) {
        Tensor.batchNorm($0[0], runningMean: $0[1], runningVariance: $0[2], weight: nil, bias: nil, epsilon: 1e-5)
    },
    GradientCase("batch norm inference fused ReLU", [.input([2, 2, 2, 3]), .input([2]), .input([2], .range(0.8, 1.2)),
                                                     .input([2], .range(0.5, 1)), .input([2], .values([3, -3]))]) {
        Tensor.batchNorm($0[0], runningMean: $0[1], runningVariance: $0[2], weight: $0[3], bias: $0[4], epsilon: 1e-5,
                         applyingReLU: true)
    },
    GradientCase("batch norm training statistics (composed)", [.input([3, 2, 2, 2]), .input([2]), .input([2])]) {
        let x = $0[0]
        let mean = x.mean(axes: [0, 2, 3], keepingDimensions: true)
        let centered = x - mean
        let variance = (centered * centered).mean(axes: [0, 2, 3], keepingDimensions: true)
        return centered / (variance + 1e-5).sqrt() * $0[1].reshaped([1, 2, 1, 1]) + $0[2].reshaped([1, 2, 1, 1])
    },
    GradientCase("layer norm", [.input([2, 3, 5]), .input([5]), .input([5])]) {
        Tensor.layerNorm($0[0], normalizedShape: [5], weight: $0[1], bias: $0[2], epsilon: 1e-5)
    },
    GradientCase("layer norm over two axes without affine", [.input([2, 3, 4])]) {
        Tensor.layerNorm($0[0], normalizedShape: [3, 4], weight: nil, bias: nil, epsilon: 1e-6)
    },
    GradientCase("group norm", [.input([2, 4, 3, 2]), .input([4]), .input([4])]) {
        Tensor.groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2], epsilon: 1e-5)
    },
    GradientCase("group norm one group per channel", [.input([1, 3, 5])]) {
        Tensor.groupNorm($0[0], groups: 3, weight: nil, bias: nil, epsilon: 1e-5)
    },
]

private let attentionCases: [GradientCase] = [
    GradientCase("softmax last axis", [.input([3, 5], .uniform(2))]) { $0[0].softmax() },
    GradientCase("softmax axis 1", [.input([2, 4, 3], .uniform(2))]) { $0[0].softmax(axis: 1) },
    GradientCase("softmax with finite mask", [.input([2, 2, 3, 4], .uniform(2)), .input([2, 1, 1, 4])]) {
        $0[0].softmax(axis: -1, additiveMask: $0[1])
    },
    GradientCase("softmax with -inf padding mask",
                 [.input([2, 3, 4], .uniform(2)), .constant(Tensor(shape: [2, 1, 4], scalars: [0, 0, 0, -.infinity, 0, -.infinity, 0, 0]))]) {
        $0[0].softmax(axis: -1, additiveMask: $0[1])
    },
    GradientCase("softmax axis 0 with mask", [.input([3, 4], .uniform(2)), .input([3, 1])]) { $0[0].softmax(axis: 0, additiveMask: $0[1]) },
    GradientCase("scaled dot-product attention", [.input([2, 2, 3, 4]), .input([2, 2, 5, 4]), .input([2, 2, 5, 3])]) {
        Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2])
    },
    GradientCase("scaled dot-product attention with mask and scale",
                 [.input([2, 1, 3, 4]), .input([2, 1, 4, 4]), .input([2, 1, 4, 2]),
                  .constant(Tensor(shape: [2, 1, 1, 4], scalars: [0, 0, -.infinity, 0, 0, 0, 0, -1e9]))]) {
        Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], additiveMask: $0[3], scale: 0.7)
    },
]

private let otherCases: [GradientCase] = [
    GradientCase("embedding with repeated indices",
                 [.constant(Tensor(shape: [2, 3], elements: [Int64(1), 4, 1, 0, 4, 4])), .input([5, 3])]) {
        Tensor.embedding($0[0], weight: $0[1])
    },
    GradientCase("float16 input converted to float32",
                 [.input([2, 3], .values([0.5, -0.25, 0.75, 0.125, -0.875, 0.375]), dtype: .float16)], epsilon: 1.0 / 64) {
        $0[0].to(.float32).exp()
    },
    GradientCase("float32 → bfloat16 → float32 (straight-through rounding)",
                 [.input([4], .values([0.5, -0.25, 0.75, 1.5]))], epsilon: 1.0 / 8) {
        $0[0].to(.bfloat16).to(.float32) * 3
    },
]

// MARK: - Tests

@Suite struct GradientCheckTests {
    @Test(arguments: elementwiseCases) func elementwise(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: activationCases) func activations(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: shapeCases) func shapes(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: reductionCases) func reductions(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: matmulCases) func matrixProducts(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: convolutionCases) func convolutions(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: poolingCases) func poolingAndResampling(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: normalizationCases) func normalizations(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: attentionCases) func softmaxAndAttention(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }
    @Test(arguments: otherCases) func embeddingAndConversions(_ testCase: GradientCase) { GradientCheck.expectAgrees(testCase) }

    /// The harness itself must catch a wrong backward: a closure off by a factor fails the check.
    @Test func theCheckRejectsAWrongGradient() throws {
        let wrong = GradientCase("deliberately wrong", [.input([4])]) { inputs in
            (inputs[0] * 1).recordingGradient("wrong", inputs: [inputs[0]]) { gradient in [gradient * 1.01] }
        }
        let results = try GradientCheck.run(wrong)
        #expect(results.count == 1 && results[0].relativeError > 5e-3)
    }
}
