// Inference ops on channels-last activations (physical shape [N, H, W, C]; logically the NCHW
// tensor [N, C, H, W]), for chains of 1×1 and depthwise convolutions: the 1×1 convolution is a
// row-major GEMM over N·H·W rows (the linear layer's kernel, weights packed once), the depthwise
// one vectorizes over channels. No gradients are recorded: callers use these when nothing records.

extension Tensor {
    /// NCHW [N, C, H, W] → channels-last [N, H, W, C].
    public func channelsLast() -> Tensor {
        precondition(rank == 4, "channelsLast: a 4-D NCHW tensor expected, got \(shape)")
        return permuted([0, 2, 3, 1])
    }

    /// Channels-last [N, H, W, C] → NCHW [N, C, H, W].
    public func channelsFirst() -> Tensor {
        precondition(rank == 4, "channelsFirst: a 4-D NHWC tensor expected, got \(shape)")
        return permuted([0, 3, 1, 2])
    }

    /// Depthwise convolution of channels-last `x` [N, H, W, C] with `taps` [R·S, C] (tap (r, s)'s
    /// weight for every channel in row r·S + s) and `bias` [C], the activation fused: [N, P, Q, C].
    public static func depthwiseConv2dChannelsLast(_ x: Tensor, taps: Tensor, bias: Tensor?, kernelSize: (Int, Int),
                                                   stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                                                   activation: FusedActivation) -> Tensor {
        precondition(x.rank == 4 && x.dtype == .float32, "depthwiseConv2dChannelsLast: a float32 [N, H, W, C] input expected, got \(x.shape)")
        let channels = x.shape[3]
        precondition(taps.shape == [kernelSize.0 * kernelSize.1, channels] && taps.dtype == .float32,
                     "depthwiseConv2dChannelsLast: taps \(taps.shape) do not match kernel \(kernelSize) and \(channels) channels")
        precondition(bias == nil || bias!.shape == [channels], "depthwiseConv2dChannelsLast: bias does not match \(channels) channels")
        let g = Conv2DGeometry(batch: x.shape[0], inputChannels: channels, inputHeight: x.shape[1], inputWidth: x.shape[2],
                               outputChannels: channels, kernelSize: kernelSize, stride: stride, padding: padding,
                               dilation: dilation, groups: channels)
        let out = Tensor(uninitializedShape: [g.batch, g.outputHeight, g.outputWidth, channels])
        guard out.count > 0 else { return out }
        withExtendedLifetime((x, taps, bias)) {
            conv2dDepthwiseChannelsLast(input: x.rawPointer.assumingMemoryBound(to: Float.self),
                                        taps: taps.rawPointer.assumingMemoryBound(to: Float.self),
                                        bias: bias?.rawPointer.assumingMemoryBound(to: Float.self),
                                        output: out.mutableFloatPointer, geometry: g, activation: activation, pool: .current)
        }
        return out
    }

    /// A depthwise convolution weight [C, 1, R, S] as the taps [R·S, C] `depthwiseConv2dChannelsLast` reads.
    public static func depthwiseTaps(_ weight: Tensor) -> Tensor {
        precondition(weight.rank == 4 && weight.shape[1] == 1, "depthwiseTaps: a [C, 1, R, S] weight expected, got \(weight.shape)")
        return weight.reshaped([weight.shape[0], weight.shape[2] * weight.shape[3]]).permuted([1, 0])
    }
}
