extension Tensor {
    /// 2-D convolution (PyTorch's `F.conv2d`): input [N, C, H, W], weight [O, C/groups, R, S], bias [O].
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?,
                              stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                              dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        precondition(input.rank == 4 && weight.rank == 4, "conv2d: input \(input.shape) and weight \(weight.shape) must be 4-D")
        precondition(input.dtype == .float32 && weight.dtype == .float32, "conv2d: float32 expected")
        precondition(input.shape[1] == weight.shape[1] * groups,
                     "conv2d: input \(input.shape) has \(input.shape[1]) channels, weight \(weight.shape) expects \(weight.shape[1] * groups) (groups \(groups))")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias \(bias.shape) does not match weight \(weight.shape)") }
        let geometry = Conv2DGeometry(batch: input.shape[0], inputChannels: input.shape[1],
                                      inputHeight: input.shape[2], inputWidth: input.shape[3],
                                      outputChannels: weight.shape[0], kernelSize: (weight.shape[2], weight.shape[3]),
                                      stride: stride, padding: padding, dilation: dilation, groups: groups)
        let out = Tensor(uninitializedShape: [geometry.batch, geometry.outputChannels, geometry.outputHeight, geometry.outputWidth])
        let outPointer = out.storage.base.assumingMemoryBound(to: Float.self)
        input.withFloats { x in
            weight.withFloats { w in
                if let bias {
                    bias.withFloats { b in
                        conv2dIm2col(input: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, output: outPointer, geometry: geometry)
                    }
                } else {
                    conv2dIm2col(input: x.baseAddress!, weight: w.baseAddress!, bias: nil, output: outPointer, geometry: geometry)
                }
            }
        }
        var inputs = [input, weight]
        if let bias { inputs.append(bias) }
        return out.recordingGradient("conv2d", inputs: inputs, backward: nil)
    }
}
