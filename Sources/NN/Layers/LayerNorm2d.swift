import Tensors

/// LayerNorm over the channels of an [N, C, H, W] tensor (torchvision's `LayerNorm2d`, used by
/// ConvNeXt): permute to channels-last, normalize the last dimension, permute back.
open class LayerNorm2d: LayerNorm {
    open override func forward(_ input: Tensor) throws -> Tensor {
        guard input.rank == 4, input.shape[1] == normalizedShape[0] else {
            throw invalidInput("expected an input [N, \(normalizedShape[0]), H, W], got shape \(input.shape)")
        }
        let channelsLast = try super.forward(input.permuted([0, 2, 3, 1]))
        return channelsLast.permuted([0, 3, 1, 2])
    }
}
