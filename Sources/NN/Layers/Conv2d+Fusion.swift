import Tensors

// Conv → BatchNorm → ReLU as one convolution, for inference.
//
// In evaluation mode BatchNorm is an affine map per channel, so it folds into the convolution:
// W'[o] = W[o]·s[o] and b'[o] = (b[o] − μ[o])·s[o] + β[o] with s = γ/√(σ² + ε); the ReLU runs in
// the GEMM's epilogue. The folded weight is packed once and shared by replicas (PackedWeightCache).
// Callers fuse only when no hook could observe the intermediate outputs (`canFuse`), so a capture of
// the BatchNorm or of the convolution still sees the true, un-fused values.

extension Conv2d {
    /// True when `relu?(batchNorm?(self(x)))` may run as one fused convolution: no hook on any of
    /// the modules involved (nor global hooks), the batch norm in evaluation mode with running
    /// statistics, and no autograd recording. (False until the modules' trees are discovered — by a
    /// first call or any tree query — since until then every call goes through the hook dispatch.)
    public final func canFuse(batchNorm: BatchNorm2d?, relu: Module?) -> Bool {
        guard canSkipHooks, batchNorm?.canSkipHooks ?? true, relu?.canSkipHooks ?? true else { return false }
        if let batchNorm, batchNorm.isTraining || !batchNorm.tracksRunningStatistics { return false }
        guard GradMode.isEnabled else { return true }
        // Recording is on: fuse only if no parameter involved is tracked.
        var tensors = [weight.value]
        if let bias { tensors.append(bias.value) }
        if let batchNorm {
            tensors += [batchNorm.weight?.value, batchNorm.bias?.value].compactMap { $0 }
        }
        return !tensors.contains { $0.gradientNode != nil }
    }

    /// relu?(batchNorm?(conv(x))) computed as one convolution with the batch norm folded into the
    /// weights and the ReLU in the epilogue. Only valid when `canFuse(batchNorm:relu:)` holds; checks
    /// the input like the modules would, with the same errors.
    public final func fusedForward(_ input: Tensor, batchNorm: BatchNorm2d?, relu: Bool) throws -> Tensor {
        let batched = try batchedInput(input)
        if let batchNorm, batchNorm.featureCount != outChannels {
            throw batchNorm.invalidInput("expected \(batchNorm.featureCount) channels, got \(outChannels) from the convolution")
        }
        let packed = inferenceWeights(foldingBatchNorm: batchNorm)
        let output = Tensor.conv2d(try floatInput(batched), packedWeight: packed.matrix, bias: packed.bias, stride: stride.tuple,
                                   padding: padding.tuple, dilation: dilation.tuple, groups: groups, relu: relu)
        return input.rank == 4 ? output : output.squeezed(axis: 0)
    }

    /// The packed weight (and float32 bias) of the inference path, with `batchNorm` folded in when
    /// given; rebuilt only when a parameter or statistic has new values.
    public final func inferenceWeights(foldingBatchNorm batchNorm: BatchNorm2d?) -> PackedWeights {
        var sources = [weight.value]
        if let bias { sources.append(bias.value) }
        var kind = bias == nil ? "conv2d" : "conv2d+bias"
        if let batchNorm, let mean = batchNorm.runningMean, let variance = batchNorm.runningVar {
            sources += [mean.value, variance.value]
            if let weight = batchNorm.weight { sources.append(weight.value) }
            if let bias = batchNorm.bias { sources.append(bias.value) }
            kind += " bn eps=\(batchNorm.epsilon) affine=\(batchNorm.weight != nil) shift=\(batchNorm.bias != nil)"
        }
        if let packedWeights, packedWeights.isBuilt(from: sources, kind: kind) { return packedWeights }
        let packed = PackedWeightCache.shared.weights(kind: kind, sources: sources) {
            guard let batchNorm else {
                return PackedWeights.Payload(matrix: PackedMatrix(convolutionWeight: weight.float32Value.detached()),
                                             bias: bias?.float32Value.detached())
            }
            let folded = Conv2d.foldBatchNorm(weight: weight.float32Value, bias: bias?.float32Value, batchNorm: batchNorm)
            return PackedWeights.Payload(matrix: PackedMatrix(convolutionWeight: folded.weight), bias: folded.bias)
        }
        packedWeights = packed
        return packed
    }

    /// W'[o] = W[o]·s[o], b'[o] = (b[o] − μ[o])·s[o] + β[o], s = γ/√(σ² + ε) (γ = 1, β = 0 without affine).
    static func foldBatchNorm(weight: Tensor, bias: Tensor?, batchNorm: BatchNorm2d) -> (weight: Tensor, bias: Tensor) {
        let outputs = weight.shape[0], perOutput = weight.count / Swift.max(outputs, 1)
        let mean = batchNorm.runningMean!.float32Value.toArray(), variance = batchNorm.runningVar!.float32Value.toArray()
        let gamma = batchNorm.weight?.float32Value.toArray(), beta = batchNorm.bias?.float32Value.toArray()
        let convolutionBias = bias?.toArray()
        var foldedWeight = weight.detachedCopy()
        var foldedBias = [Float](repeating: 0, count: outputs)
        foldedWeight.withMutableFloats { w in
            for o in 0..<outputs {
                // Same arithmetic order as PyTorch's eval batch norm: 1/√(σ² + ε), then ·γ.
                let scale = (gamma?[o] ?? 1) * (1 / (variance[o] + Float(batchNorm.epsilon)).squareRoot())
                for i in 0..<perOutput { w[o * perOutput + i] *= scale }
                foldedBias[o] = ((convolutionBias?[o] ?? 0) - mean[o]) * scale + (beta?[o] ?? 0)
            }
        }
        return (foldedWeight, Tensor(shape: [outputs], scalars: foldedBias))
    }
}
