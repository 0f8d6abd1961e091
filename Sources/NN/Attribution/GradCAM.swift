import Tensors

/// Grad-CAM (Selvaraju et al. 2017) from a convolutional layer's activation A [N, C, H, W] and
/// the gradient G = ∂target/∂A: channel weights α[n, c] = mean over (h, w) of G, map
/// relu(Σ_c α[n, c] · A[n, c]) [N, 1, H, W], then (options) normalized and upsampled bilinearly.
public enum GradCAM {
    /// The Grad-CAM map of one layer; `inputSize` is the (height, width) to upsample to (ignored
    /// unless `options.upsampleToInput`). Computed without recording.
    public static func map(activation: Tensor, gradient: Tensor, options: GradCAMOptions = GradCAMOptions(),
                           inputSize: (Int, Int)?) -> Tensor {
        precondition(activation.rank == 4 && gradient.shape == activation.shape,
                     "GradCAM: activation \(activation.shape) and gradient \(gradient.shape) must be the same [N, C, H, W]")
        return GradMode.withDisabled {
            let weights = gradient.mean(axes: [2, 3], keepingDimensions: true)
            var map = (weights * activation.detached()).sum(axes: [1], keepingDimensions: true).relu()
            if options.normalization == .minMax {
                let minimum = -((-map).max(axes: [1, 2, 3], keepingDimensions: true))
                let maximum = map.max(axes: [1, 2, 3], keepingDimensions: true)
                map = (map - minimum) / ((maximum - minimum) + 1e-7)
            }
            if options.upsampleToInput, let inputSize, (inputSize.0, inputSize.1) != (map.shape[2], map.shape[3]) {
                map = map.interpolateBilinear(size: inputSize, alignCorners: options.alignCorners)
            }
            return map
        }
    }
}
