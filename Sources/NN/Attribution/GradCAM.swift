import Tensors

/// Class-activation maps from a layer's activation A [N, C, H, W] and the gradient G = ∂target/∂A,
/// then (options) normalized and upsampled bilinearly:
/// - Grad-CAM (Selvaraju et al. 2017): channel weights α[n, c] = mean over (h, w) of G, map
///   relu(Σ_c α · A);
/// - Grad-CAM++ (Chattopadhyay et al. 2018, as pytorch-grad-cam computes it): a = G² / (2G² +
///   Σ_hw A · G³ + 1e-6) where G ≠ 0 (else 0), α = Σ_hw relu(G) · a, map relu(Σ_c α · A);
/// - LayerCAM (Jiang et al. 2021): map relu(Σ_c relu(G) · A), weighted per position.
/// A transformer's token activation [N, T, C] is first read on its patch grid (`TokenGrid`).
public enum GradCAM {
    /// The map of one layer for `method` (`gradcam`, `gradCAMPlusPlus` or `layerCAM`); `inputSize` is
    /// the (height, width) to upsample to (ignored unless `options.upsampleToInput`). Computed
    /// without recording.
    public static func map(activation: Tensor, gradient: Tensor, method: AttributionMethod = .gradcam,
                           options: GradCAMOptions = GradCAMOptions(), inputSize: (Int, Int)?) -> Tensor {
        precondition(method.isClassActivationMap, "GradCAM: \(method) is not a class-activation map")
        precondition(gradient.shape == activation.shape, "GradCAM: activation \(activation.shape) and gradient \(gradient.shape) differ")
        return GradMode.withDisabled {
            let a = spatial(activation.detached(), options.tokenGrid), g = spatial(gradient, options.tokenGrid)
            let map: Tensor
            switch method {
            case .gradCAMPlusPlus:
                let squared = g * g, cubed = squared * g
                let activationSums = a.sum(axes: [2, 3], keepingDimensions: true)
                let nonZero = g.map { $0 != 0 ? 1 : 0 }
                let coefficients = squared / (squared * 2 + activationSums * cubed + 1e-6) * nonZero
                let weights = (g.relu() * coefficients).sum(axes: [2, 3], keepingDimensions: true)
                map = (weights * a).sum(axes: [1], keepingDimensions: true).relu()
            case .layerCAM:
                map = (g.relu() * a).sum(axes: [1], keepingDimensions: true).relu()
            default:
                let weights = g.mean(axes: [2, 3], keepingDimensions: true)
                map = (weights * a).sum(axes: [1], keepingDimensions: true).relu()
            }
            return finish(map, options: options, inputSize: inputSize)
        }
    }

    /// A [N, 1, H, W] map as `options` ask: min-max normalized per sample, then upsampled to `inputSize`.
    static func finish(_ map: Tensor, options: GradCAMOptions, inputSize: (Int, Int)?) -> Tensor {
        var map = map
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

    /// True when `shape` is a layer a map can be drawn for: [N, C, H, W], or tokens [N, prefix + H·W, C]
    /// matching `grid`.
    public static func isSpatial(_ shape: [Int], grid: GradCAMOptions.TokenGrid?) -> Bool {
        if shape.count == 4 { return true }
        guard shape.count == 3, let grid else { return false }
        return shape[1] == grid.prefixTokens + grid.height * grid.width
    }

    /// [N, C, H, W] as it is; tokens [N, prefix + H·W, C] → [N, C, H, W] without the prefix tokens.
    static func spatial(_ tensor: Tensor, _ grid: GradCAMOptions.TokenGrid?) -> Tensor {
        guard tensor.rank == 3, let grid else { return tensor }
        let (batch, channels) = (tensor.shape[0], tensor.shape[2])
        return tensor.sliced(axis: 1, grid.prefixTokens..<tensor.shape[1])
            .reshaped([batch, grid.height, grid.width, channels]).permuted([0, 3, 1, 2])
    }
}
