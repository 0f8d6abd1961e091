extension Tensor {
    /// 2-D convolution (PyTorch's `F.conv2d`): input [N, C, H, W], weight [O, C/groups, R, S], bias [O].
    ///
    /// Runs the fast paths of `conv2d(input:weight:…)`. For inference with a constant weight prefer
    /// `conv2d(_:packedWeight:…)`, which keeps the packed weight between calls and fuses ReLU.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?,
                              stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                              dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        precondition(weight.rank == 4 && weight.dtype == .float32, "conv2d: weight \(weight.shape) must be a 4-D float32 tensor")
        let out = convolve(input, weight: PackedMatrix(convolutionWeight: weight), bias: bias, stride: stride, padding: padding,
                           dilation: dilation, groups: groups, activation: .none, weightIsTransient: true)
        var inputs = [input, weight]
        if let bias { inputs.append(bias) }
        return out.recordingGradient("conv2d", inputs: inputs) { gradient, needs in
            let gradients = convolutionGradients(gradient, input: input, weight: weight.detached(), hasBias: bias != nil,
                                                 stride: stride, padding: padding, dilation: dilation, groups: groups,
                                                 needsInput: needs[0], needsWeight: needs[1], needsBias: needs.count > 2 && needs[2])
            return [gradients.input, gradients.weight] + (bias != nil ? [gradients.bias] : [])
        }
    }

    /// Inference convolution with a weight packed once (`PackedMatrix(convolutionWeight:)`, built
    /// from [O, C/groups, R, S]), bias [O], and an optional fused ReLU:
    /// relu?(conv2d(input, weight) + bias). Input [N, C, H, W], output [N, O, P, Q].
    ///
    /// Conv + BatchNorm (+ ReLU) folds into this: weight·γ/σ per output channel, bias β − μ·γ/σ.
    /// Gradients flow to the input and the bias, not to the weight (the packed copy is detached).
    public static func conv2d(_ input: Tensor, packedWeight: PackedMatrix, bias: Tensor?,
                              stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                              dilation: (Int, Int) = (1, 1), groups: Int = 1, relu: Bool = false) -> Tensor {
        let out = convolve(input, weight: packedWeight, bias: bias, stride: stride, padding: padding,
                           dilation: dilation, groups: groups, activation: relu ? .relu : .none, weightIsTransient: false)
        var inputs = [input]
        if let bias { inputs.append(bias) }
        return out.recordingGradient(relu ? "conv2d_relu" : "conv2d", inputs: inputs) { gradient, needs in
            let masked = relu ? broadcastBinary(gradient, out) { g, y in y > 0 ? g : 0 } : gradient
            let weight = packedWeight.source.reshaped(packedWeight.originalShape)
            let gradients = convolutionGradients(masked, input: input, weight: weight, hasBias: bias != nil,
                                                 stride: stride, padding: padding, dilation: dilation, groups: groups,
                                                 needsInput: needs[0], needsWeight: false, needsBias: needs.count > 1 && needs[1])
            return [gradients.input] + (bias != nil ? [gradients.bias] : [])
        }
    }

    /// Inference convolution with a packed weight and SiLU fused into the epilogue:
    /// silu(conv2d(input, weight) + bias), each block activated while it is still in cache. The
    /// values equal `conv2d(…).silu()` exactly. Records no gradient: callers use it only when no
    /// autograd graph is being recorded (`GradMode`).
    public static func conv2dSiLU(_ input: Tensor, packedWeight: PackedMatrix, bias: Tensor?,
                                  stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                                  dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        convolve(input, weight: packedWeight, bias: bias, stride: stride, padding: padding,
                 dilation: dilation, groups: groups, activation: .silu, weightIsTransient: false)
    }

    /// The gradients of a convolution's input, weight and bias (each only when asked for) from
    /// the output's gradient G [N, O, P, Q].
    private static func convolutionGradients(_ gradient: Tensor, input: Tensor, weight: Tensor, hasBias: Bool,
                                             stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int,
                                             needsInput: Bool, needsWeight: Bool, needsBias: Bool) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        let geometry = Conv2DGeometry(batch: input.shape[0], inputChannels: input.shape[1],
                                      inputHeight: input.shape[2], inputWidth: input.shape[3],
                                      outputChannels: weight.shape[0], kernelSize: (weight.shape[2], weight.shape[3]),
                                      stride: stride, padding: padding, dilation: dilation, groups: groups)
        if gradient.count == 0 || input.count == 0 {
            return (needsInput ? Tensor(zeros: input.shape) : nil, needsWeight ? Tensor(zeros: weight.shape) : nil,
                    needsBias && hasBias ? Tensor(zeros: [weight.shape[0]]) : nil)
        }
        var inputGradient: Tensor?, weightGradient: Tensor?, biasGradient: Tensor?
        gradient.withFloats { g in
            let g = g.baseAddress!
            if needsInput {
                let result = Tensor(uninitializedShape: input.shape)
                weight.withFloats { w in
                    conv2dBackwardInput(gradOutput: g, weight: w.baseAddress!, gradInput: result.mutableFloatPointer, geometry: geometry)
                }
                inputGradient = result
            }
            if needsWeight {
                let result = Tensor(uninitializedShape: weight.shape)
                input.withFloats { x in
                    conv2dBackwardWeight(gradOutput: g, input: x.baseAddress!, gradWeight: result.mutableFloatPointer, geometry: geometry)
                }
                weightGradient = result
            }
            if hasBias && needsBias {
                let result = Tensor(uninitializedShape: [geometry.outputChannels])
                conv2dBackwardBias(gradOutput: g, gradBias: result.mutableFloatPointer, geometry: geometry)
                biasGradient = result
            }
        }
        return (inputGradient, weightGradient, biasGradient)
    }

    private static func convolve(_ input: Tensor, weight: PackedMatrix, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                                 dilation: (Int, Int), groups: Int, activation: FusedActivation, weightIsTransient: Bool) -> Tensor {
        let shape = weight.originalShape
        precondition(input.rank == 4 && shape.count == 4, "conv2d: input \(input.shape) and weight \(shape) must be 4-D")
        precondition(input.dtype == .float32, "conv2d: float32 input expected, got \(input.dtype)")
        precondition(groups >= 1, "conv2d: groups must be at least 1, got \(groups)")
        precondition(input.shape[1] == shape[1] * groups,
                     "conv2d: input \(input.shape) has \(input.shape[1]) channels, weight \(shape) expects \(shape[1] * groups) (groups \(groups))")
        if let bias {
            precondition(bias.shape == [shape[0]] && bias.dtype == .float32, "conv2d: bias \(bias.shape) does not match weight \(shape)")
        }
        let geometry = Conv2DGeometry(batch: input.shape[0], inputChannels: input.shape[1],
                                      inputHeight: input.shape[2], inputWidth: input.shape[3],
                                      outputChannels: shape[0], kernelSize: (shape[2], shape[3]),
                                      stride: stride, padding: padding, dilation: dilation, groups: groups)
        let out = Tensor(uninitializedShape: [geometry.batch, geometry.outputChannels, geometry.outputHeight, geometry.outputWidth])
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        input.withFloats { x in
            if let bias {
                bias.withFloats { b in
                    Tensors.conv2d(input: x.baseAddress!, weight: weight, bias: b.baseAddress!, output: outPointer,
                                   geometry: geometry, activation: activation, path: nil, weightIsTransient: weightIsTransient)
                }
            } else {
                Tensors.conv2d(input: x.baseAddress!, weight: weight, bias: nil, output: outPointer,
                               geometry: geometry, activation: activation, path: nil, weightIsTransient: weightIsTransient)
            }
        }
        return out
    }
}
