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

    /// Depthwise convolution of channels-last `x` [N, H, W, C] with `taps` [⌈C/16⌉, R·S, 16] (from
    /// `depthwiseTaps`) and `bias` [C], the activation fused: [N, P, Q, C].
    public static func depthwiseConv2dChannelsLast(_ x: Tensor, taps: Tensor, bias: Tensor?, kernelSize: (Int, Int),
                                                   stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                                                   activation: FusedActivation) -> Tensor {
        precondition(x.rank == 4 && x.dtype == .float32, "depthwiseConv2dChannelsLast: a float32 [N, H, W, C] input expected, got \(x.shape)")
        let channels = x.shape[3]
        precondition(taps.shape == [(channels + 15) / 16, kernelSize.0 * kernelSize.1, 16] && taps.dtype == .float32,
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

    /// A depthwise convolution weight [C, 1, R, S] as the taps `depthwiseConv2dChannelsLast` reads:
    /// [⌈C/16⌉, R·S, 16], per block of 16 channels tap (r, s)'s weights in row r·S + s, zero past C.
    public static func depthwiseTaps(_ weight: Tensor) -> Tensor {
        precondition(weight.rank == 4 && weight.shape[1] == 1 && weight.dtype == .float32,
                     "depthwiseTaps: a float32 [C, 1, R, S] weight expected, got \(weight.shape)")
        let (channels, taps) = (weight.shape[0], weight.shape[2] * weight.shape[3])
        let blocks = (channels + 15) / 16
        var result = Tensor(zeros: [blocks, taps, 16])
        result.withMutableFloats { target in
            weight.withFloats { w in
                for channel in 0..<channels {
                    for tap in 0..<taps { target[((channel / 16) * taps + tap) * 16 + channel % 16] = w[channel * taps + tap] }
                }
            }
        }
        return result
    }
}
